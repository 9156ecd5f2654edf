/**
 * The order a round visits pipelines in: high precedence first, so a
 * deployment pipeline is never kept waiting behind periodic ones; by name
 * within a precedence, so every scheduler visits them in the same order.
 */
import type { Layout, Pipeline } from '../../config/index.js';

const RANK = { high: 0, normal: 1, low: 2 } as const;

export function pipelineOrder(layout: Layout): Pipeline[] {
  return [...layout.pipelines.values()].sort(
    (a, b) => RANK[a.precedence] - RANK[b.precedence] || (a.name < b.name ? -1 : 1),
  );
}
