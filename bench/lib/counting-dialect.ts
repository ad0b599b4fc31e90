import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from "kysely";

/** SQL sent to the database, counted at the connection. */
export class StatementCounter {
  /** Data statements: SELECT, INSERT, UPDATE, DELETE. */
  statements = 0;
  /** Every message that waits for a reply, transaction control included. */
  roundTrips = 0;
  /** The data statements since the last reset, with their parameters. */
  log: { sql: string; parameters: readonly unknown[] }[] = [];

  reset(): void {
    this.statements = 0;
    this.roundTrips = 0;
    this.log = [];
  }

  record(query: CompiledQuery): void {
    this.roundTrips++;
    if (!/^\s*(begin|start transaction|commit|rollback|savepoint|release)/i.test(query.sql)) {
      this.statements++;
      this.log.push({ sql: query.sql.replace(/\s+/g, " ").trim(), parameters: query.parameters });
    }
  }
}

/**
 * Wraps a connection so that each query is counted. Methods are bound to the
 * real connection, because drivers keep their state in private fields.
 */
function countingConnection(connection: DatabaseConnection, counter: StatementCounter): DatabaseConnection {
  return new Proxy(connection, {
    get(target, property) {
      if (property === "executeQuery") {
        return async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
          counter.record(query);
          return await target.executeQuery<R>(query);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

class CountingDriver implements Driver {
  readonly #inner: Driver;
  readonly #counter: StatementCounter;
  readonly #wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();

  constructor(inner: Driver, counter: StatementCounter) {
    this.#inner = inner;
    this.#counter = counter;
  }

  async init(): Promise<void> {
    await this.#inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.#inner.acquireConnection();
    const wrapped = countingConnection(connection, this.#counter);
    this.#wrapped.set(wrapped, connection);
    return wrapped;
  }

  // The inner driver sends BEGIN and COMMIT through the wrapped connection, so they are counted.
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.#inner.beginTransaction(connection, settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#inner.commitTransaction(connection);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#inner.rollbackTransaction(connection);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.#inner.releaseConnection(this.#wrapped.get(connection) ?? connection);
  }

  async destroy(): Promise<void> {
    await this.#inner.destroy();
  }
}

/** A Kysely dialect that counts every statement and round trip of another dialect. */
export class CountingDialect implements Dialect {
  readonly #inner: Dialect;
  readonly #counter: StatementCounter;

  constructor(inner: Dialect, counter: StatementCounter) {
    this.#inner = inner;
    this.#counter = counter;
  }

  createDriver(): Driver {
    return new CountingDriver(this.#inner.createDriver(), this.#counter);
  }

  createQueryCompiler(): QueryCompiler {
    return this.#inner.createQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return this.#inner.createAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return this.#inner.createIntrospector(db);
  }
}
