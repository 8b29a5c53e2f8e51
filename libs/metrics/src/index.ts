export {
  DEFAULT_METRICS_PREFIX,
  METRICS,
  metricNames,
  type App,
  type CounterDefinition,
  type GaugeDefinition,
  type HistogramDefinition,
  type MetricDefinition,
} from './lib/catalog';
export {
  counter,
  createRegistry,
  gauge,
  histogram,
  METRICS_UNAUTHORIZED,
  metricsAuthorized,
  registerClusterMetrics,
  type ClusterSources,
} from './lib/registry';
export { parseExposition, type Sample } from './lib/exposition';
