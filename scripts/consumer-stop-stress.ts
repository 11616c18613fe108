/**
 * Stops PartitionConsumers at random moments of their start and counts the connections to the
 * broker left open afterwards. It found the race that packages/kafka/test/stopping.int.test.ts
 * now pins down ("stop while it joins the group"): kafkajs forgot a runner that was joining.
 *
 *   eval "$(LL_PROFILE=ws1 bash infra/local/stack.sh env)"
 *   npx tsx scripts/consumer-stop-stress.ts [rounds, default 60]
 *
 * Each round starts two consumers of one group 0-150 ms apart, stops both 0-600 ms later, and
 * 300 ms after that counts the connections to the broker still open; a leaked one is printed
 * with the stack that connected it (test/support/broker-connections.ts records them). Exits 1
 * if any round leaked one. Uses its own topic (4 partitions), deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaAdmin, PartitionConsumer, SINGLE_BROKER_DURABILITY, createKafka, topicNames } from '@ledgerline/kafka';
import { describeBrokerConnection, openBrokerConnections, recordBrokerConnections } from '../test/support/broker-connections';

/** Rounds at most: each takes about a second. */
const ROUNDS_MAX = 10_000;

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 60);
  const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX || brokers.length === 0) {
    process.stderr.write(`usage: KAFKA_BROKERS=host:port npx tsx scripts/consumer-stop-stress.ts [rounds, 1-${ROUNDS_MAX}]\n`);
    process.exit(2);
  }
  const kafka = createKafka({ brokers, clientId: 'consumer-stop-stress' });
  const names = topicNames(`stress${randomBytes(4).toString('hex')}`);
  const admin = new KafkaAdmin(kafka);
  await admin.ensureTopics(names, 4, SINGLE_BROKER_DURABILITY);

  let leakyRounds = 0;
  for (let round = 1; round <= rounds; round++) {
    recordBrokerConnections(`round ${round}`);
    const consumer = () =>
      new PartitionConsumer({
        kafka,
        topic: names.commands,
        groupId: `${names.commands}.stress${round % 3}`,
        partitionsConcurrentMax: 4,
        fetchBytesMax: 1_048_576,
        fetchWaitMs: 100,
        fetchBytesMin: 1,
        group: { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
        onAssignment: () => undefined,
        onFetch: async () => undefined,
        log: () => undefined,
      });
    const [a, b] = [consumer(), consumer()];
    const startingA = a.start().catch(() => undefined);
    await sleep(Math.random() * 150);
    const startingB = b.start().catch(() => undefined);
    await sleep(Math.random() * 600);
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([startingA, startingB]);
    await sleep(300);
    const leaked = openBrokerConnections().filter((entry) => entry.openedBy === `round ${round}`);
    if (leaked.length > 0) {
      leakyRounds += 1;
      process.stdout.write(`round ${round}: ${leaked.length} connection(s) to the broker still open after stop\n${leaked.map(describeBrokerConnection).join('\n')}\n`);
    }
  }

  await sleep(8_000);
  const left = openBrokerConnections().length; // every connection recorded was made by a round
  process.stdout.write(`consumer-stop-stress: rounds=${rounds} rounds_with_open_sockets=${leakyRounds} open_after_8s=${left}\n`);
  await admin.deleteTopics([names.commands, names.events, names.deadLetter]).catch(() => undefined);
  await admin.close();
  process.exit(leakyRounds === 0 && left === 0 ? 0 : 1);
}

void main();
