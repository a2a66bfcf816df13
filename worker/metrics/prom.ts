/**
 * prom-client's metric classes without its package entry: the entry also loads the Node process
 * collectors (node:process, perf_hooks, v8), which workerd does not provide in every mode. The
 * metric, registry and exposition-format code is runtime-neutral; the types are the package's.
 */
// @ts-expect-error: deep CommonJS modules without their own type declarations.
import CounterImpl from "prom-client/lib/counter";
// @ts-expect-error: see above.
import GaugeImpl from "prom-client/lib/gauge";
// @ts-expect-error: see above.
import HistogramImpl from "prom-client/lib/histogram";
// @ts-expect-error: see above.
import RegistryImpl from "prom-client/lib/registry";

type Prom = typeof import("prom-client");

export const Counter = CounterImpl as Prom["Counter"];
export const Gauge = GaugeImpl as Prom["Gauge"];
export const Histogram = HistogramImpl as Prom["Histogram"];
export const Registry = RegistryImpl as Prom["Registry"];
