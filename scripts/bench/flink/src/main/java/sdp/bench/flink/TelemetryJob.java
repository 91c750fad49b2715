package sdp.bench.flink;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.formats.avro.typeutils.GenericRecordAvroTypeInfo;
import org.apache.flink.formats.parquet.avro.AvroParquetWriters;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The pipeline's logical job (processor + cassandra-sink + lake-sink) as one Flink job on a local
 * MiniCluster, for `npm run bench -- --flink`: the raw topic, bounded at its end offsets when the
 * job starts, is validated (rejects to a DLQ topic, exactly once), aggregated in 1-minute
 * event-time windows, and written as reading and aggregate rows to Cassandra and as Parquet to S3.
 * Configured by environment variables (FLINK_BENCH_*), set by scripts/bench/flink.ts. Prints one
 * JSON line when the first record arrives and one with the job's counts when it is done.
 */
public final class TelemetryJob {
  private static final AtomicBoolean FIRST_RECORD = new AtomicBoolean();
  private static final OutputTag<Records.Rejected> REJECTED = new OutputTag<>("rejected", TypeInformation.of(Records.Rejected.class));

  /** The lake's reading columns (apps/contracts/lake.ts), ts as a timestamp as the Glue table has it. */
  static final String LAKE_SCHEMA =
      "{\"type\":\"record\",\"name\":\"reading\",\"fields\":["
          + "{\"name\":\"schema_version\",\"type\":\"int\"},"
          + "{\"name\":\"device_id\",\"type\":\"string\"},"
          + "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
          + "{\"name\":\"metric\",\"type\":\"string\"},"
          + "{\"name\":\"value\",\"type\":\"double\"},"
          + "{\"name\":\"tags\",\"type\":[\"null\",{\"type\":\"map\",\"values\":\"string\"}],\"default\":null},"
          + "{\"name\":\"unit\",\"type\":[\"null\",\"string\"],\"default\":null}]}";

  private static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException(name + " is not set (scripts/bench/flink.ts sets it)");
    return v;
  }

  public static void main(String[] args) throws Exception {
    String brokers = env("FLINK_BENCH_KAFKA_BROKERS");
    String rawTopic = env("FLINK_BENCH_RAW_TOPIC");
    String dlqTopic = env("FLINK_BENCH_DLQ_TOPIC");
    long latenessMs = Long.parseLong(env("FLINK_BENCH_ALLOWED_LATENESS_MS"));
    long idleMs = Long.parseLong(env("FLINK_BENCH_IDLE_FLUSH_MS"));
    long maxSkewMs = Long.parseLong(env("FLINK_BENCH_MAX_CLOCK_SKEW_MS"));
    long checkpointMs = Long.parseLong(env("FLINK_BENCH_CHECKPOINT_INTERVAL_MS"));
    int parallelism = Integer.parseInt(env("FLINK_BENCH_PARALLELISM"));
    String lakePath = env("FLINK_BENCH_LAKE_PATH");
    var cassandra =
        new CassandraRowSink.Settings(env("FLINK_BENCH_CASSANDRA_HOST"), Integer.parseInt(env("FLINK_BENCH_CASSANDRA_PORT")), env("FLINK_BENCH_CASSANDRA_DC"), env("FLINK_BENCH_CASSANDRA_KEYSPACE"));

    Configuration conf = new Configuration();
    conf.setString("s3.endpoint", env("FLINK_BENCH_S3_ENDPOINT"));
    conf.setString("s3.endpoint.region", env("FLINK_BENCH_S3_REGION"));
    conf.setString("s3.path.style.access", "true");
    conf.setString("s3.access-key", env("FLINK_BENCH_S3_ACCESS_KEY"));
    conf.setString("s3.secret-key", env("FLINK_BENCH_S3_SECRET_KEY"));
    conf.setString("restart-strategy.type", "none");
    conf.setString("execution.checkpointing.storage", "filesystem");
    conf.setString("execution.checkpointing.dir", env("FLINK_BENCH_CHECKPOINT_DIR"));
    FileSystem.initialize(conf, null);

    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
    env.enableCheckpointing(checkpointMs, CheckpointingMode.EXACTLY_ONCE);

    KafkaSource<Records.Raw> source =
        KafkaSource.<Records.Raw>builder()
            .setBootstrapServers(brokers)
            .setTopics(rawTopic)
            .setGroupId("sdp-bench-flink")
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(new RawRecord())
            .build();

    SingleOutputStreamOperator<Records.Reading> valid =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "raw topic").process(new Validate(maxSkewMs)).name("validate");

    KafkaSink<Records.Rejected> dlq =
        KafkaSink.<Records.Rejected>builder()
            .setBootstrapServers(brokers)
            .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
            .setTransactionalIdPrefix("sdp-bench-flink-dlq")
            .setProperty("transaction.timeout.ms", "60000")
            .setRecordSerializer(new DlqRecord(dlqTopic))
            .build();
    valid.getSideOutput(REJECTED).sinkTo(dlq).name("dlq");

    valid
        .sinkTo(
            new CassandraRowSink<Records.Reading>(
                cassandra,
                "INSERT INTO readings_by_device_day (schema_version, device_id, ts, metric, value, tags, unit, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                r -> new Object[] {2, r.deviceId, Instant.ofEpochMilli(r.ts), r.metric, r.value, tagsJson(r.tags), r.unit, utcDay(r.ts)},
                r -> r.deviceId + "|" + utcDay(r.ts)))
        .name("cassandra readings");

    Schema lakeSchema = new Schema.Parser().parse(LAKE_SCHEMA);
    valid
        .map(new ToLakeRecord())
        .returns(new GenericRecordAvroTypeInfo(lakeSchema))
        .name("to parquet record")
        .sinkTo(
            FileSink.forBulkFormat(new Path(lakePath), AvroParquetWriters.forGenericRecord(lakeSchema))
                .withBucketAssigner(new EventHourBuckets())
                .withOutputFileConfig(OutputFileConfig.builder().withPartSuffix(".parquet").build())
                .build())
        .name("lake parquet");

    DataStream<Records.Aggregate> aggregates =
        valid
            .assignTimestampsAndWatermarks(
                WatermarkStrategy.<Records.Reading>forBoundedOutOfOrderness(Duration.ofMillis(latenessMs))
                    .withTimestampAssigner((r, previous) -> r.ts)
                    .withIdleness(Duration.ofMillis(idleMs)))
            .keyBy(r -> r.deviceId + "|" + r.metric)
            .window(TumblingEventTimeWindows.of(Duration.ofMinutes(1)))
            .aggregate(new Stats(), new ToAggregate())
            .name("1-minute windows");
    aggregates
        .sinkTo(
            new CassandraRowSink<Records.Aggregate>(
                cassandra,
                "INSERT INTO aggregates_by_device_minute (schema_version, device_id, metric, window_start, window_end, \"count\", \"min\", \"max\", \"avg\", \"sum\", \"last\", last_ts, \"day\") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                a ->
                    new Object[] {
                      1, a.deviceId, a.metric, Instant.ofEpochMilli(a.windowStart), Instant.ofEpochMilli(a.windowEnd), a.count, a.min, a.max, a.avg, a.sum, a.last,
                      Instant.ofEpochMilli(a.lastTs), utcDay(a.windowStart)
                    },
                a -> a.deviceId + "|" + utcDay(a.windowStart)))
        .name("cassandra aggregates");

    JobExecutionResult result = env.execute("sdp-bench telemetry");
    System.out.println(
        "{\"event\":\"done\",\"at\":" + System.currentTimeMillis()
            + ",\"valid\":" + count(result, "valid")
            + ",\"rejected\":" + count(result, "rejected")
            + ",\"aggregates\":" + count(result, "aggregates")
            + ",\"jobMs\":" + result.getNetRuntime() + "}");
    System.out.flush();
  }

  private static long count(JobExecutionResult result, String name) {
    Object v = result.getAccumulatorResult(name);
    return v == null ? 0 : ((Number) v).longValue();
  }


  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  /** The readings table keeps tags as JSON text (apps/contracts/tables.ts, cqlEncoding 'json'), as the cassandra-sink writes them. */
  static String tagsJson(java.util.Map<String, String> tags) {
    if (tags == null) return null;
    try {
      return JSON.writeValueAsString(tags);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("tags: cannot be written as JSON", e);
    }
  }

  static LocalDate utcDay(long epochMs) {
    return LocalDate.ofEpochDay(Math.floorDiv(epochMs, 86_400_000L));
  }

  /** The record's bytes and coordinates, undecoded: validation is the next operator's work. */
  static final class RawRecord implements KafkaRecordDeserializationSchema<Records.Raw> {
    @Override
    public void deserialize(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> record, Collector<Records.Raw> out) {
      Records.Raw raw = new Records.Raw();
      raw.key = record.key();
      raw.value = record.value();
      raw.topic = record.topic();
      raw.partition = record.partition();
      raw.offset = record.offset();
      out.collect(raw);
    }

    @Override
    public TypeInformation<Records.Raw> getProducedType() {
      return TypeInformation.of(Records.Raw.class);
    }
  }

  /** The processor's validation and guards; rejects go to the side output with their reason. */
  static final class Validate extends ProcessFunction<Records.Raw, Records.Reading> {
    private final long maxSkewMs;
    private transient ReadingValidator validator;
    private final LongCounter validCount = new LongCounter();
    private final LongCounter rejectedCount = new LongCounter();

    Validate(long maxSkewMs) {
      this.maxSkewMs = maxSkewMs;
    }

    @Override
    public void open(OpenContext ctx) {
      validator = new ReadingValidator(maxSkewMs);
      getRuntimeContext().addAccumulator("valid", validCount);
      getRuntimeContext().addAccumulator("rejected", rejectedCount);
    }

    @Override
    public void processElement(Records.Raw raw, Context ctx, Collector<Records.Reading> out) {
      if (FIRST_RECORD.compareAndSet(false, true)) {
        System.out.println("{\"event\":\"first-record\",\"at\":" + System.currentTimeMillis() + "}");
        System.out.flush();
      }
      long now = System.currentTimeMillis();
      try {
        out.collect(validator.validate(raw, now));
        validCount.add(1);
      } catch (ReadingValidator.Invalid e) {
        Records.Rejected r = new Records.Rejected();
        r.raw = raw;
        r.reason = e.reason;
        r.detail = e.getMessage();
        r.errorClass = e.errorClass;
        r.failedAt = now;
        ctx.output(REJECTED, r);
        rejectedCount.add(1);
      }
    }
  }

  /** The failed record's own bytes, with Kafka Connect's context headers (apps/contracts/topics.ts, dlqHeaders). */
  static final class DlqRecord implements KafkaRecordSerializationSchema<Records.Rejected> {
    private final String topic;

    DlqRecord(String topic) {
      this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Records.Rejected r, KafkaSinkContext context, Long timestamp) {
      ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topic, null, r.raw.key, r.raw.value);
      header(rec, "__dlq.errors.reason", r.reason + ": " + r.detail);
      header(rec, "__dlq.errors.topic", r.raw.topic);
      header(rec, "__dlq.errors.partition", Integer.toString(r.raw.partition));
      header(rec, "__dlq.errors.offset", Long.toString(r.raw.offset));
      header(rec, "__dlq.errors.exception.class", r.errorClass);
      header(rec, "__dlq.errors.timestamp", Long.toString(r.failedAt));
      return rec;
    }

    private static void header(ProducerRecord<byte[], byte[]> rec, String name, String value) {
      rec.headers().add(new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8)));
    }
  }

  static final class ToLakeRecord extends org.apache.flink.api.common.functions.RichMapFunction<Records.Reading, GenericRecord> {
    private transient Schema schema;

    @Override
    public void open(OpenContext ctx) {
      schema = new Schema.Parser().parse(LAKE_SCHEMA);
    }

    @Override
    public GenericRecord map(Records.Reading r) {
      GenericRecord g = new GenericData.Record(schema);
      g.put("schema_version", 2);
      g.put("device_id", r.deviceId);
      g.put("ts", r.ts);
      g.put("metric", r.metric);
      g.put("value", r.value);
      g.put("tags", r.tags);
      g.put("unit", r.unit);
      return g;
    }
  }

  /** The lake's `dt=YYYY-MM-DD/hour=HH` partitions, by event time (apps/contracts/lake.ts). */
  static final class EventHourBuckets implements BucketAssigner<GenericRecord, String> {
    @Override
    public String getBucketId(GenericRecord r, Context context) {
      var t = Instant.ofEpochMilli((Long) r.get("ts")).atOffset(ZoneOffset.UTC);
      return String.format("dt=%s/hour=%02d", t.toLocalDate(), t.getHour());
    }

    @Override
    public SimpleVersionedSerializer<String> getSerializer() {
      return SimpleVersionedStringSerializer.INSTANCE;
    }
  }

  /** count, min, max, sum, last (by event time) and its ts, as apps/processor/windows.ts keeps them. */
  static final class Stats implements AggregateFunction<Records.Reading, double[], double[]> {
    @Override
    public double[] createAccumulator() {
      return new double[] {0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0, 0, Long.MIN_VALUE};
    }

    @Override
    public double[] add(Records.Reading r, double[] a) {
      a[0]++;
      a[1] = Math.min(a[1], r.value);
      a[2] = Math.max(a[2], r.value);
      a[3] += r.value;
      if (r.ts >= a[5]) {
        a[4] = r.value;
        a[5] = r.ts;
      }
      return a;
    }

    @Override
    public double[] getResult(double[] a) {
      return a;
    }

    @Override
    public double[] merge(double[] a, double[] b) {
      double[] m = {a[0] + b[0], Math.min(a[1], b[1]), Math.max(a[2], b[2]), a[3] + b[3], a[5] >= b[5] ? a[4] : b[4], Math.max(a[5], b[5])};
      return m;
    }
  }

  static final class ToAggregate extends ProcessWindowFunction<double[], Records.Aggregate, String, TimeWindow> {
    private final LongCounter aggregates = new LongCounter();

    @Override
    public void open(OpenContext ctx) {
      getRuntimeContext().addAccumulator("aggregates", aggregates);
    }

    @Override
    public void process(String key, Context ctx, Iterable<double[]> stats, Collector<Records.Aggregate> out) {
      double[] s = stats.iterator().next();
      int bar = key.indexOf('|');
      Records.Aggregate a = new Records.Aggregate();
      a.deviceId = key.substring(0, bar);
      a.metric = key.substring(bar + 1);
      a.windowStart = ctx.window().getStart();
      a.windowEnd = ctx.window().getEnd();
      a.count = (long) s[0];
      a.min = s[1];
      a.max = s[2];
      a.sum = s[3];
      a.avg = s[3] / s[0];
      a.last = s[4];
      a.lastTs = (long) s[5];
      out.collect(a);
      aggregates.add(1);
    }
  }
}
