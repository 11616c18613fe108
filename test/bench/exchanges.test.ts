import { hopsBetween, parseSs, portOf } from '../../loadtest/bench/exchanges';

// Two lines per socket, as `ss -tinpH state established` prints them (info lines trimmed).
const info = (segs: number) => `\t bbr wscale:1,10 rto:204 mss:50953 segs_out:${segs * 2} segs_in:9 data_segs_out:${segs} data_segs_in:9 send 7411345455bps`;
function ss(counts: { apiToKafka: number; kafkaToApi: number; workerToRedis: number; redisToWorker: number; elsewhere: number; fresh?: number }): string {
  const lines = [
    // A node client on IPv4, a JVM broker answering on its dual-stack socket.
    `0      0      127.0.0.1:44462 127.0.0.1:19092 users:(("node",pid=100,fd=21))`,
    info(counts.apiToKafka),
    `0      0      [::ffff:127.0.0.1]:19092 [::ffff:127.0.0.1]:44462 users:(("java",pid=300,fd=104))`,
    info(counts.kafkaToApi),
    `0      0      127.0.0.1:51000 127.0.0.1:16379 users:(("node",pid=201,fd=30))`,
    info(counts.workerToRedis),
    `0      0      127.0.0.1:16379 127.0.0.1:51000 users:(("redis-server",pid=400,fd=9))`,
    info(counts.redisToWorker),
    // Not the stack's: neither end is a service port.
    `0      0      10.0.0.2:22 10.0.0.9:60000 users:(("sshd",pid=500,fd=3))`,
    info(counts.elsewhere),
  ];
  if (counts.fresh !== undefined) {
    lines.push(`0      0      127.0.0.1:52000 127.0.0.1:16432 users:(("node",pid=100,fd=40))`, info(counts.fresh));
  }
  return `${lines.join('\n')}\n`;
}

const naming = { servicePorts: { kafka: 19092, redis: 16379, pgbouncer: 16432 }, pids: { api: [100], workers: [201, 202] } };

describe('exchanges per transfer (bench)', () => {
  it('reads each socket with its owner and the data segments it sent', () => {
    const sockets = parseSs(ss({ apiToKafka: 7, kafkaToApi: 6, workerToRedis: 5, redisToWorker: 4, elsewhere: 3 }));
    expect(sockets).toHaveLength(5);
    expect(sockets[0]).toEqual({ local: '127.0.0.1:44462', peer: '127.0.0.1:19092', pid: 100, process: 'node', dataSegsOut: 7 });
    expect(sockets[1]).toMatchObject({ local: '127.0.0.1:19092', peer: '127.0.0.1:44462', process: 'java' });
    expect(portOf(sockets[0]!.peer)).toBe(19092);
    expect(sockets[3]!.process).toBe('redis-server');
  });

  it('counts what each side of a stack connection wrote in the window, by hop, and nothing else', () => {
    const before = parseSs(ss({ apiToKafka: 10, kafkaToApi: 10, workerToRedis: 10, redisToWorker: 10, elsewhere: 10 }));
    const after = parseSs(ss({ apiToKafka: 30, kafkaToApi: 25, workerToRedis: 12, redisToWorker: 11, elsewhere: 99, fresh: 50 }));
    const hops = hopsBetween(before, after, naming);
    expect(Object.fromEntries(hops)).toEqual({ 'api->kafka': 20, 'kafka->api': 15, 'workers->redis': 2, 'redis->workers': 1 });
  });
});
