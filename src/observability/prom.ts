/**
 * The prom-client parts Nexus uses (the registry that formats the exposition, and the
 * gauges computed at scrape time), taken from their own files. The package index also
 * loads its Pushgateway (node:http, node:https) and cluster aggregation, which cost about
 * 10 MB of resident memory on a Raspberry Pi for features we never call. Counters and
 * histograms are our own (metrics.ts). Types are the package's own.
 * @module
 */
import GaugeImpl from "prom-client/lib/gauge"
import RegistryImpl from "prom-client/lib/registry"

export const Registry = RegistryImpl
export const Gauge = GaugeImpl
export type Registry = InstanceType<typeof RegistryImpl>
export type { Metric } from "prom-client"
