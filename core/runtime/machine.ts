/**
 * The machine and software a run happened on, for the header of every report: CPU model
 * and count, memory, platform, Node and the versions of the packages that set the
 * figures (node-seal above all).
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, platform, totalmem } from 'node:os';
import type { BenchReport } from '../report/types.ts';

/** This machine: platform, arch, logical CPUs and their model, memory, Node version. */
export function machineInfo(): BenchReport['machine'] {
  const list = cpus();
  const model = list[0]?.model?.trim();
  return {
    platform: platform(),
    arch: arch(),
    cpus: list.length,
    cpuModel: model || 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
  };
}

function packageVersion(pkg: string): string | undefined {
  const path = pkg === 'ppnn-studio' ? '../../package.json' : `../../node_modules/${pkg}/package.json`;
  try {
    return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined; // not installed where expected: leave it out
  }
}

/** Versions of Node, this package and the packages behind the figures (absent ones left out). */
export function softwareVersions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  for (const pkg of ['ppnn-studio', 'node-seal', 'ws', 'piscina']) {
    const found = packageVersion(pkg);
    if (found) v[pkg] = found;
  }
  return v;
}
