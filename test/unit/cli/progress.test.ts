import { describe, expect, it } from 'vitest';
import { progressOnTerminal } from '../../../cli/progress';

/** A terminal stream that records what was drawn. */
function terminal(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('progressOnTerminal', () => {
  it('names what it counts (users verified, changes written) against a known total', () => {
    const { stream, written } = terminal(true);
    const progress = progressOnTerminal('apply acme', { estimate: 200, unit: 'changes written' }, stream);
    progress.update(50);
    progress.done();
    expect(written[0]?.startsWith('\r\x1b[Kapply acme: 50 of ~200 changes written · ')).toBe(true);
    expect(written.at(-1)).toBe('\r\x1b[K');
  });

  it('counts users scanned by default, and draws nothing off a terminal or with --json', () => {
    const tty = terminal(true);
    progressOnTerminal('plan acme', {}, tty.stream).update(3);
    expect(tty.written[0]).toContain('plan acme: 3 users scanned');
    const piped = terminal(false);
    progressOnTerminal('plan acme', {}, piped.stream).update(3);
    const json = terminal(true);
    progressOnTerminal('plan acme', { json: true }, json.stream).update(3);
    expect([...piped.written, ...json.written]).toEqual([]);
  });
});
