// Proves ledgerctl's tables never send a control character from a cell to the terminal (a dead
// letter's reason quotes bytes someone wrote to a topic): ESC, CSI and newlines are escaped.
import { Writable } from 'node:stream';
import { printTable, printable } from '../src/table';

describe('printTable', () => {
  test('control characters in a cell are shown escaped, and the columns line up on what is shown', () => {
    let written = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    printTable(['id', 'reason'], [['1', 'not JSON: "\u001b[2J\u009b31m"\nforged']], out);
    expect(written).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(written.split('\n')).toHaveLength(4); // header, rule, one row, the final newline
    expect(written).toContain('not JSON: "\\u001b[2J\\u009b31m"\\u000aforged');
  });

  test('printable text passes unchanged', () => {
    expect(printable('UNPROCESSABLE: value too long for type character varying(3) — ünïcode')).toBe('UNPROCESSABLE: value too long for type character varying(3) — ünïcode');
  });
});
