/**
 * What the run prints: the findings with examples, the fault timeline, and, as its very last
 * line, exactly
 *
 *   chaos: accepted=N faults=N lost=N duplicated=N order_violations=N invariant_violations=N server_errors_on_bad_input=N
 *
 * The run exits non-zero when any of the last five counts is not 0.
 */
import type { FaultRecord } from './faults';
import { type Finding, type ProofResult, total } from './proof';

export interface FinalCounts {
  accepted: number;
  faults: number;
  lost: number;
  duplicated: number;
  orderViolations: number;
  invariantViolations: number;
  serverErrorsOnBadInput: number;
}

export function countsOf(proof: ProofResult, faults: number): FinalCounts {
  return {
    accepted: proof.accepted,
    faults,
    lost: total(proof.lost),
    duplicated: total(proof.duplicated),
    orderViolations: total(proof.orderViolations),
    invariantViolations: total(proof.invariantViolations),
    serverErrorsOnBadInput: total(proof.serverErrorsOnBadInput),
  };
}

export function finalLine(c: FinalCounts): string {
  return (
    `chaos: accepted=${c.accepted} faults=${c.faults} lost=${c.lost} duplicated=${c.duplicated} ` +
    `order_violations=${c.orderViolations} invariant_violations=${c.invariantViolations} ` +
    `server_errors_on_bad_input=${c.serverErrorsOnBadInput}`
  );
}

export function anyViolation(c: FinalCounts): boolean {
  return c.lost + c.duplicated + c.orderViolations + c.invariantViolations + c.serverErrorsOnBadInput > 0;
}

export function findingsReport(proof: ProofResult): string[] {
  const lines: string[] = [];
  const section = (title: string, findings: readonly Finding[]) => {
    lines.push(`${title}: ${total(findings)}`);
    for (const f of findings) {
      lines.push(`  ${f.name}: ${f.count}`);
      for (const example of f.examples) lines.push(`    e.g. ${example}`);
    }
  };
  section('lost', proof.lost);
  section('duplicated', proof.duplicated);
  section('order_violations', proof.orderViolations);
  section('invariant_violations', proof.invariantViolations);
  section('server_errors_on_bad_input', proof.serverErrorsOnBadInput);
  lines.push('notes:');
  for (const note of proof.notes) lines.push(`  ${note}`);
  return lines;
}

export function faultTimeline(records: readonly FaultRecord[]): string[] {
  const s = (ms: number | null) => (ms === null ? '   -  ' : `${(ms / 1000).toFixed(1).padStart(6)}s`);
  return records.map(
    (r, i) =>
      `  ${String(i + 1).padStart(2)}. ${r.kind.padEnd(18)} start ${s(r.startedAtMs)} healed ${s(r.healedAtMs)}  ${r.error ? `ERROR ${r.error}` : r.detail}`,
  );
}
