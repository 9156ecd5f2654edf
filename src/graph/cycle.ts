/**
 * Cycle detection over an adjacency map (node -> the nodes it points to).
 * Iterative depth-first search, so a chain of thousands of jobs cannot
 * overflow the call stack.
 */

const WHITE = 0;
const GREY = 1;
const BLACK = 2;

interface Frame {
  readonly node: string;
  readonly next: readonly string[];
  index: number;
}

/**
 * Returns one cycle as `['a', 'b', 'c', 'a']` (a -> b -> c -> a), or undefined.
 * Nodes and edges are visited in the map's own order, so the same input always
 * yields the same cycle. Edges to nodes that are not keys of the map are ignored.
 */
export function findCycle(
  edges: ReadonlyMap<string, readonly string[]>,
): readonly string[] | undefined {
  const color = new Map<string, number>();
  for (const root of edges.keys()) {
    if ((color.get(root) ?? WHITE) !== WHITE) continue;
    const cycle = searchFrom(root, edges, color);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

function searchFrom(
  root: string,
  edges: ReadonlyMap<string, readonly string[]>,
  color: Map<string, number>,
): readonly string[] | undefined {
  const stack: Frame[] = [{ node: root, next: edges.get(root) ?? [], index: 0 }];
  color.set(root, GREY);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    if (top.index >= top.next.length) {
      color.set(top.node, BLACK);
      stack.pop();
      continue;
    }
    const target = top.next[top.index] as string;
    top.index += 1;
    const targetEdges = edges.get(target);
    if (targetEdges === undefined) continue;
    const state = color.get(target) ?? WHITE;
    if (state === GREY) return closeCycle(stack, target);
    if (state === WHITE) {
      color.set(target, GREY);
      stack.push({ node: target, next: targetEdges, index: 0 });
    }
  }
  return undefined;
}

/** The grey frames from `target` to the top of the stack form the cycle. */
function closeCycle(stack: readonly Frame[], target: string): readonly string[] {
  const start = stack.findIndex((f) => f.node === target);
  const path = stack.slice(start).map((f) => f.node);
  path.push(target);
  return path;
}
