/** The small part of better-sqlite3's API the store uses (the package ships no type declarations). */
declare module 'better-sqlite3' {
  export interface RunResult {
    changes: number;
  }
  export interface Statement<Row = unknown> {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): Row | undefined;
    all(...params: unknown[]): Row[];
    iterate(...params: unknown[]): IterableIterator<Row>;
  }
  class Database {
    constructor(path: string);
    pragma(source: string, options?: { simple?: boolean }): unknown;
    exec(source: string): this;
    prepare<Row = unknown>(source: string): Statement<Row>;
    /** True while a transaction is open (BEGIN … COMMIT/ROLLBACK). */
    readonly inTransaction: boolean;
    transaction<Args extends unknown[]>(fn: (...args: Args) => void): (...args: Args) => void;
    close(): void;
  }
  export default Database;
}
