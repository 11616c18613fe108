/**
 * Layer rules (docs/design.md, "Where things live"): the domain stays pure, apps never import each other, and
 * no import cycle anywhere. `npm run boundaries` fails the build when one is broken.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'packages/domain is the pure heart: no I/O adapters, no frameworks.',
      severity: 'error',
      from: { path: '^packages/domain/' },
      to: { path: ['node_modules/(pg|pg-[a-z-]+|ioredis|kafkajs|express|jose|zod)/', '^packages/(postgres|redis|kafka|schemas|auth|config)/'] },
    },
    {
      name: 'no-app-to-app',
      comment: 'An app is wired in its own main.ts; shared code belongs in packages/.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'packages-do-not-import-apps',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'kafkajs-only-in-the-kafka-port',
      comment:
        'The Kafka client library is an implementation detail of packages/kafka (producers, PartitionConsumer, KafkaAdmin, probe, topics), for the apps and for the test, chaos and bench harnesses alike: replacing it must be a change inside that package alone.',
      severity: 'error',
      from: { pathNot: '^packages/kafka/' },
      to: { path: 'node_modules/kafkajs/' },
    },
    {
      name: 'pg-and-ioredis-only-in-their-ports',
      comment:
        'The apps reach PostgreSQL through packages/postgres (its Database type, its queries) and Redis through packages/redis: the drivers are those packages\' details. Tests and harnesses may use the drivers to set up and inspect state.',
      severity: 'error',
      from: { path: '^apps/[^/]+/src/' },
      to: { path: 'node_modules/(pg|ioredis)/' },
    },
    {
      name: 'opentelemetry-sdk-only-in-tracing',
      comment:
        'Apps and packages instrument with @opentelemetry/api alone (a no-op until a process starts tracing); the SDK, exporters and resources are started by packages/tracing only. Tests may use the SDK (its in-memory exporter).',
      severity: 'error',
      from: { pathNot: ['^packages/tracing/', '[.]test[.]ts$'] },
      to: { path: 'node_modules/@opentelemetry/(sdk-|exporter-|otlp-|resources|context-)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: true,
    // Tests inside an app or package may reach across (they drive the real apps); the shared
    // harnesses under test/ and loadtest/ are cruised, so they too reach Kafka only through
    // @ledgerline/kafka. k6 scripts run in k6's own runtime (imports like k6/http): not cruised.
    exclude: { path: ['^(apps|packages)/[^/]+/test/', '^loadtest/k6/'] },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
