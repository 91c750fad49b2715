package sdp.bench.flink;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchType;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Rows to one Cassandra table, written the way apps/cassandra-sink writes them so the comparison
 * is of the runtimes, not of the write plans: UNLOGGED batches within one partition of at most
 * 30 statements (Keyspaces' limit), at most 32 requests in flight. At-least-once: every pending
 * write completes before a checkpoint (`flush`), and the upserts are idempotent.
 */
public final class CassandraRowSink<T> implements Sink<T> {
  /** The bind values of a row, in the CQL's order; null leaves the column unset (no tombstone). */
  public interface Binder<T> extends Serializable {
    Object[] values(T row);
  }

  /** The row's partition key, to group a batch's statements by partition. */
  public interface PartitionKey<T> extends Serializable {
    String of(T row);
  }

  static final int MAX_BATCH_STATEMENTS = 30;
  static final int CONCURRENCY = 32;
  /** Rows buffered before a write plan is made (the cassandra-sink plans per Kafka batch). */
  static final int PLAN_ROWS = 2_000;

  private final Settings settings;
  private final String cql;
  private final Binder<T> binder;
  private final PartitionKey<T> partitionKey;

  public record Settings(String host, int port, String localDc, String keyspace) implements Serializable {}

  public CassandraRowSink(Settings settings, String cql, Binder<T> binder, PartitionKey<T> partitionKey) {
    this.settings = settings;
    this.cql = cql;
    this.binder = binder;
    this.partitionKey = partitionKey;
  }

  @Override
  public SinkWriter<T> createWriter(WriterInitContext context) {
    return new Writer();
  }

  private final class Writer implements SinkWriter<T> {
    private final CqlSession session;
    private final PreparedStatement insert;
    private final Semaphore inFlight = new Semaphore(CONCURRENCY);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<T> buffer = new ArrayList<>(PLAN_ROWS);

    Writer() {
      DriverConfigLoader config = DriverConfigLoader.programmaticBuilder().withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(60)).build();
      session =
          CqlSession.builder()
              .addContactPoint(new InetSocketAddress(settings.host(), settings.port()))
              .withLocalDatacenter(settings.localDc())
              .withKeyspace(settings.keyspace())
              .withConfigLoader(config)
              .build();
      insert = session.prepare(cql);
    }

    @Override
    public void write(T row, Context context) throws IOException, InterruptedException {
      buffer.add(row);
      if (buffer.size() >= PLAN_ROWS) writeBuffer();
    }

    /** Groups the buffer by partition and sends it in batches of at most 30, 32 at a time. */
    private void writeBuffer() throws IOException, InterruptedException {
      Map<String, List<BoundStatement>> byPartition = new LinkedHashMap<>();
      for (T row : buffer) byPartition.computeIfAbsent(partitionKey.of(row), k -> new ArrayList<>()).add(bind(row));
      buffer.clear();
      for (List<BoundStatement> rows : byPartition.values()) {
        for (int i = 0; i < rows.size(); i += MAX_BATCH_STATEMENTS) {
          List<BoundStatement> chunk = rows.subList(i, Math.min(rows.size(), i + MAX_BATCH_STATEMENTS));
          rethrow();
          inFlight.acquire();
          var request = chunk.size() == 1 ? chunk.get(0) : BatchStatement.newInstance(BatchType.UNLOGGED, new ArrayList<>(chunk));
          session
              .executeAsync(request)
              .whenComplete(
                  (rs, err) -> {
                    if (err != null) failure.compareAndSet(null, err);
                    inFlight.release();
                  });
        }
      }
    }

    private BoundStatement bind(T row) {
      Object[] values = binder.values(row);
      BoundStatement s = insert.bind(values);
      for (int i = 0; i < values.length; i++) if (values[i] == null) s = s.unset(i);
      return s;
    }

    private void rethrow() throws IOException {
      Throwable err = failure.get();
      if (err != null) throw new IOException("Cassandra write to " + settings.keyspace() + " failed (" + cql + ")", err);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
      writeBuffer();
      inFlight.acquire(CONCURRENCY);
      inFlight.release(CONCURRENCY);
      rethrow();
    }

    @Override
    public void close() {
      session.close();
    }
  }
}
