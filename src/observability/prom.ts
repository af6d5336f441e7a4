/**
 * The four prom-client classes Nexus uses, taken from their own files. The package index
 * also loads its Pushgateway (node:http, node:https) and cluster aggregation, which cost
 * about 10 MB of resident memory on a Raspberry Pi for features we never call. Types are
 * the package's own.
 * @module
 */
import CounterImpl from "prom-client/lib/counter"
import GaugeImpl from "prom-client/lib/gauge"
import HistogramImpl from "prom-client/lib/histogram"
import RegistryImpl from "prom-client/lib/registry"

export const Registry = RegistryImpl
export const Counter = CounterImpl
export const Gauge = GaugeImpl
export const Histogram = HistogramImpl
export type Registry = InstanceType<typeof RegistryImpl>
