import { cpus, loadavg, release, totalmem, type } from 'node:os';
import type { MachineInfo } from './results.ts';

export function machineInfo(loadAverageAtStart: number): MachineInfo {
  const list = cpus();
  return {
    cpu: (list[0]?.model ?? 'unknown CPU').trim(),
    cores: list.length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    os: `${type()} ${release()}`,
    node: process.versions.node,
    loadAverage: { start: loadAverageAtStart, end: round(loadavg()[0]!) },
  };
}

export function currentLoadAverage(): number {
  return round(loadavg()[0]!);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
