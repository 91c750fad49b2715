package sdp.bench.flink;

import java.util.Map;

/** The records between the job's operators: public fields, so Flink serializes them as POJOs, not with Kryo. */
public final class Records {
  private Records() {}

  /** A raw Kafka record with its coordinates, for the guards (key) and the DLQ's context headers. */
  public static class Raw {
    public byte[] key;
    public byte[] value;
    public String topic;
    public int partition;
    public long offset;
  }

  /** A validated reading, upcast to the newest version (2): `unit` and `tags` may be null. */
  public static class Reading {
    public String deviceId;
    public long ts;
    public String metric;
    public double value;
    public Map<String, String> tags;
    public String unit;
  }

  /** A raw record that failed validation, with the reason the processor would give. */
  public static class Rejected {
    public Raw raw;
    public String reason;
    public String detail;
    public String errorClass;
    public long failedAt;
  }

  /** A 1-minute aggregate per device and metric, as apps/contracts/telemetry.ts declares it. */
  public static class Aggregate {
    public String deviceId;
    public String metric;
    public long windowStart;
    public long windowEnd;
    public long count;
    public double min;
    public double max;
    public double avg;
    public double sum;
    public double last;
    public long lastTs;
  }
}
