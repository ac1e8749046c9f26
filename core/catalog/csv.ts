/**
 * CSV parsing: the only module that imports `csv-parse`. RFC 4180 quoting (fields in double
 * quotes may hold commas, newlines and doubled quotes), a leading byte-order mark is dropped, and
 * rows come back either as arrays of fields or, with `columns`, as records keyed by the header.
 * @module
 */
import { parse } from "csv-parse/sync";

/** How to read CSV text. */
export interface CsvOptions {
  /** Drop records that are empty lines. @default false */
  skipEmptyLines?: boolean;
  /** Trim white space around every field (outside its quotes). @default false */
  trim?: boolean;
  /** Accept records with more or fewer fields than the first one. @default false */
  relaxColumnCount?: boolean;
}

/** How to read CSV text into records keyed by the header row. */
export interface CsvRecordOptions extends CsvOptions {
  /**
   * `true`: the first record names the columns. A function receives the header's fields and
   * returns the names to use (e.g. lower-cased).
   */
  columns: true | ((header: string[]) => string[]);
}

/**
 * Parses CSV text into records keyed by the header row (the header itself is not returned); a
 * record shorter than the header lacks the missing keys.
 *
 * @param text The CSV text; a leading byte-order mark is dropped.
 * @param options `columns` and the reading options; see {@linkcode CsvRecordOptions}.
 * @returns One record per data row, in order.
 * @throws {Error} When the text is not valid CSV (an unclosed quote; a record of the wrong
 *   length unless `relaxColumnCount`), with csv-parse's message naming the line.
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * const rows = parseCsv('id,title\n1,"Hello, world"\n', { columns: true });
 * console.assert(rows[0]!["title"] === "Hello, world");
 * ```
 */
export function parseCsv(text: string, options: CsvRecordOptions): Record<string, string>[];
/**
 * Parses CSV text into rows of fields (the header, if any, is the first row).
 *
 * @param text The CSV text; a leading byte-order mark is dropped.
 * @param options Reading options; see {@linkcode CsvOptions}.
 * @returns One array of fields per record, in order.
 * @throws {Error} When the text is not valid CSV (an unclosed quote; a record of the wrong
 *   length unless `relaxColumnCount`), with csv-parse's message naming the line.
 * @example
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * const rows = parseCsv('a,b\n1,"two\nlines"\n');
 * console.assert(rows[1]![1] === "two\nlines");
 * ```
 */
export function parseCsv(text: string, options?: CsvOptions): string[][];
export function parseCsv(
  text: string,
  options: CsvOptions | CsvRecordOptions = {},
): string[][] | Record<string, string>[] {
  const columns = "columns" in options ? options.columns : undefined;
  return parse(text, {
    bom: true,
    skip_empty_lines: options.skipEmptyLines ?? false,
    trim: options.trim ?? false,
    relax_column_count: options.relaxColumnCount ?? false,
    ...(columns === undefined ? {} : { columns }),
  }) as string[][] | Record<string, string>[];
}
