import { type Db, MongoClient } from 'mongodb';
import { type Config, getConfig } from '../config.js';
import { discardAfterTimeout } from './abandon.js';
import { countingRoundTrips, roundTrips } from './round-trips.js';

/**
 * One MongoClient per container. The driver connects lazily on the first operation and keeps its
 * (small) pool while the container is warm. Every operation is bounded by the timeouts below, so an
 * unreachable server becomes a fast error (mapped to 503) instead of a hung invocation.
 */
export function mongoClientOptions(config: Config['mongo'], appName: string) {
  return {
    appName,
    maxPoolSize: config.poolMax,
    minPoolSize: 0,
    maxIdleTimeMS: 60_000,
    serverSelectionTimeoutMS: config.timeoutMs,
    connectTimeoutMS: config.timeoutMs,
    socketTimeoutMS: config.timeoutMs * 2,
    waitQueueTimeoutMS: config.timeoutMs,
    retryWrites: false,
    // A cart version counts once a majority has it: an acknowledged version cannot be rolled back by a
    // failover (which would let a second writer win the same compare-and-set), whatever the URI says. Bounded,
    // so that a replica set short of a majority answers 64 WriteConcernFailed (a 503) in time.
    writeConcern: { w: 'majority', wtimeoutMS: config.timeoutMs },
  } as const;
}

let client: MongoClient | undefined;

export function getMongoClient(): MongoClient {
  if (!client) {
    const config = getConfig();
    const counting = countingRoundTrips();
    client = new MongoClient(config.mongo.uri, {
      ...mongoClientOptions(config.mongo, `${config.serviceName}-${config.stage}`),
      ...(counting ? { monitorCommands: true } : {}),
    });
    if (counting) client.on('commandStarted', () => void roundTrips.mongo++);
    discardAfterTimeout(discardMongo);
  }
  return client;
}

/**
 * Abandons the container's client after an invocation gave up waiting on it (the HTTP stack's timeout
 * backstop): closing it aborts the operations it still runs (the driver closes its checked-out connections
 * first), so no write of a request already answered 503 can land later, and the next request connects afresh
 * instead of queueing behind a server that stopped answering. The old client's monitors and idle sockets go
 * only when its close has ended its sessions, which waits for server selection and the socket timeout (about
 * 6 s with the default MONGODB_TIMEOUT_MS).
 */
function discardMongo(): void {
  const current = client;
  client = undefined;
  void current?.close(true).catch(() => {});
}

export function getMongoDb(): Db {
  return getMongoClient().db(getConfig().mongo.database);
}

export async function closeMongo(): Promise<void> {
  const current = client;
  client = undefined;
  await current?.close();
}
