/**
 * Parses GET /metrics with the Prometheus project's own parser: the official
 * Python client's `text_string_to_metric_families` (Debian's
 * python3-prometheus-client, which .ci/run installs). The npm parsers at hand
 * drop the labels of labelled histograms, which is most of ours.
 */
const PYTHON = "/usr/bin/python3";
const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type, "samples": [
        {"name": s.name, "labels": s.labels, "value": "Infinity" if math.isinf(s.value) else repr(s.value)} for s in family.samples]})
json.dump(out, sys.stdout)
`;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  /** As the parser names it: a counter's family drops the `_total` its samples carry. */
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "unknown" | string;
  samples: Sample[];
}

export function parsePrometheusText(text: string): Family[] {
  const result = Bun.spawnSync([PYTHON, "-c", PARSE], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const stderr = result.stderr.toString();
  if (result.exitCode !== 0 && stderr.includes("No module named 'prometheus_client'")) {
    throw new Error("the Prometheus parser is not installed: apt-get install python3-prometheus-client (.ci/run does this)");
  }
  if (result.exitCode !== 0) throw new Error(`the Prometheus parser refused the exposition: ${stderr}`);
  const families = JSON.parse(result.stdout.toString()) as { name: string; type: string; samples: { name: string; labels: Record<string, string>; value: string }[] }[];
  return families.map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, value: Number(s.value) })) }));
}

/** A scrape of GET /metrics, parsed. */
export class Scrape {
  private readonly samples: Sample[];

  constructor(readonly families: Family[]) {
    this.samples = families.flatMap((f) => f.samples);
  }

  static async of(url: string, token?: string): Promise<Scrape> {
    const response = await fetch(`${url}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`GET /metrics: ${response.status} ${await response.text()}`);
    return new Scrape(parsePrometheusText(await response.text()));
  }

  /** The family a sample name belongs to (`x_total` → counter `x`, `x_bucket` → histogram `x`). */
  typeOf(sampleName: string): string | undefined {
    return this.families.find((f) => f.samples.some((s) => s.name === sampleName) || f.name === sampleName)?.type;
  }

  /** A sample's value with exactly these labels; 0 when the series is absent (as Prometheus treats an unborn counter). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value ?? 0;
  }

  /** The label sets of a sample name's series. */
  labels(name: string): Record<string, string>[] {
    return this.samples.filter((s) => s.name === name).map((s) => s.labels);
  }

  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number; buckets: Record<string, number> } {
    const buckets: Record<string, number> = {};
    for (const s of this.samples) {
      if (s.name !== `${name}_bucket`) continue;
      const { le, ...rest } = s.labels;
      if (le !== undefined && sameLabels(rest, labels)) buckets[le] = s.value;
    }
    return { count: this.value(`${name}_count`, labels), sum: this.value(`${name}_sum`, labels), buckets };
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
