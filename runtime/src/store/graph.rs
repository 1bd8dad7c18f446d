//! The edges of one relation: forward and backward adjacency in compressed sparse row form, and
//! the transitive closure in both directions, memoized lazily per strongly connected component.
//!
//! A relation `r: A -> B` with `A != B` has no paths longer than one edge, so its closure is its
//! adjacency. For `r: A -> A` the loader condenses the graph into its strongly connected
//! components (petgraph's iterative Kosaraju: the data may hold chains of any length, so no
//! recursion); the first `closure` of a node computes its component's result by a walk over the
//! condensed DAG and stores it in a `OnceLock`, so later reads are a lookup without locking.
//! This module knows nothing of JSON, entity ids or values: only dense `u32` indices.

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use petgraph::graph::{DiGraph, NodeIndex};

/// Rows of sorted, deduplicated `u32` targets.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr {
    offsets: Box<[usize]>,
    targets: Box<[u32]>,
}

impl Csr {
    /// `edges` must be sorted and deduplicated; edges whose source is not below `n_rows` are
    /// ignored (the loader never produces them).
    pub(crate) fn from_sorted(n_rows: usize, edges: &[(u32, u32)]) -> Csr {
        let mut offsets = vec![0usize; n_rows.saturating_add(1)];
        let mut targets = Vec::with_capacity(edges.len());
        for &(src, dst) in edges {
            if let Some(count) = offsets.get_mut(src as usize + 1) {
                *count += 1;
                targets.push(dst);
            }
        }
        for i in 1..offsets.len() {
            let prev = offsets.get(i - 1).copied().unwrap_or(0);
            if let Some(cur) = offsets.get_mut(i) {
                *cur += prev;
            }
        }
        Csr {
            offsets: offsets.into_boxed_slice(),
            targets: targets.into_boxed_slice(),
        }
    }

    pub(crate) fn row(&self, row: u32) -> &[u32] {
        let row = row as usize;
        match (self.offsets.get(row), self.offsets.get(row + 1)) {
            (Some(&start), Some(&end)) => self.targets.get(start..end).unwrap_or_default(),
            _ => &[],
        }
    }

    fn n_rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// The edges of one relation, indexed for `x.r`, `x.~r`, `closure` and `path`.
pub(crate) struct RelationIndex {
    forward: Csr,
    backward: Csr,
    /// Present when the relation goes from a type to itself.
    condensed: Option<Condensed>,
}

impl fmt::Debug for RelationIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelationIndex")
            .field("sources", &self.forward.n_rows())
            .field("edges", &self.forward.targets.len())
            .finish_non_exhaustive()
    }
}

impl RelationIndex {
    /// `edges` go from `0..n_from` to `0..n_to`; `homogeneous` says source and target type are
    /// the same (then `n_from == n_to`).
    pub(crate) fn new(
        n_from: usize,
        n_to: usize,
        homogeneous: bool,
        mut edges: Vec<(u32, u32)>,
    ) -> RelationIndex {
        edges.sort_unstable();
        edges.dedup();
        let forward = Csr::from_sorted(n_from, &edges);
        let mut reversed: Vec<(u32, u32)> = edges.iter().map(|&(a, b)| (b, a)).collect();
        reversed.sort_unstable();
        let backward = Csr::from_sorted(n_to, &reversed);
        let condensed = homogeneous.then(|| Condensed::new(&forward, &edges));
        RelationIndex {
            forward,
            backward,
            condensed,
        }
    }

    pub(crate) fn related(&self, inverse: bool, idx: u32) -> &[u32] {
        if inverse {
            self.backward.row(idx)
        } else {
            self.forward.row(idx)
        }
    }

    pub(crate) fn closure(&self, inverse: bool, idx: u32) -> &[u32] {
        match &self.condensed {
            Some(condensed) => condensed.closure(inverse, idx),
            None => self.related(inverse, idx),
        }
    }
}

/// The strongly connected components of a relation on one type and the condensed DAG.
struct Condensed {
    /// Component of each node.
    component: Box<[u32]>,
    /// Nodes of each component, sorted.
    members: Csr,
    /// Whether a component lies on a cycle (more than one node, or a self-loop).
    cyclic: Box<[bool]>,
    successors: Csr,
    predecessors: Csr,
    /// Closure per component, following the edges.
    memo_forward: Box<[OnceLock<Box<[u32]>>]>,
    /// Closure per component, against the edges.
    memo_backward: Box<[OnceLock<Box<[u32]>>]>,
}

impl Condensed {
    fn new(forward: &Csr, edges: &[(u32, u32)]) -> Condensed {
        let n = forward.n_rows();
        // `usize` indices: petgraph panics when a `u32` index overflows or a node is missing,
        // so use the wide index type and add only edges between existing nodes.
        let mut graph: DiGraph<(), (), usize> = DiGraph::with_capacity(n, edges.len());
        for _ in 0..n {
            graph.add_node(());
        }
        for &(a, b) in edges {
            if (a as usize) < n && (b as usize) < n {
                graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ());
            }
        }
        let sccs = petgraph::algo::kosaraju_scc(&graph);
        drop(graph);

        let mut component = vec![0u32; n];
        let mut member_pairs = Vec::with_capacity(n);
        let mut cyclic = Vec::with_capacity(sccs.len());
        for (c, scc) in (0u32..).zip(&sccs) {
            for node in scc {
                let node = node.index() as u32;
                if let Some(slot) = component.get_mut(node as usize) {
                    *slot = c;
                }
                member_pairs.push((c, node));
            }
            let self_loop = scc.first().is_some_and(|n| {
                forward
                    .row(n.index() as u32)
                    .binary_search(&(n.index() as u32))
                    .is_ok()
            });
            cyclic.push(scc.len() > 1 || self_loop);
        }
        member_pairs.sort_unstable();
        let n_components = sccs.len();
        let members = Csr::from_sorted(n_components, &member_pairs);

        let comp = |node: u32| component.get(node as usize).copied().unwrap_or(0);
        let mut dag: Vec<(u32, u32)> = edges
            .iter()
            .map(|&(a, b)| (comp(a), comp(b)))
            .filter(|(a, b)| a != b)
            .collect();
        dag.sort_unstable();
        dag.dedup();
        let successors = Csr::from_sorted(n_components, &dag);
        let mut reversed: Vec<(u32, u32)> = dag.iter().map(|&(a, b)| (b, a)).collect();
        reversed.sort_unstable();
        let predecessors = Csr::from_sorted(n_components, &reversed);

        let memo = || (0..n_components).map(|_| OnceLock::new()).collect();
        Condensed {
            component: component.into_boxed_slice(),
            members,
            cyclic: cyclic.into_boxed_slice(),
            successors,
            predecessors,
            memo_forward: memo(),
            memo_backward: memo(),
        }
    }

    fn memo(&self, inverse: bool) -> &[OnceLock<Box<[u32]>>] {
        if inverse {
            &self.memo_backward
        } else {
            &self.memo_forward
        }
    }

    fn closure(&self, inverse: bool, idx: u32) -> &[u32] {
        let Some(&c) = self.component.get(idx as usize) else {
            return &[];
        };
        match self.memo(inverse).get(c as usize) {
            Some(cell) => cell.get_or_init(|| self.compute(inverse, c)),
            None => &[],
        }
    }

    /// Every node reachable from component `c` by one or more edges, sorted: `c`'s own nodes
    /// when it is cyclic, and the nodes of every component below it in the condensed DAG.
    /// Components whose closure is already memoized are not walked again.
    fn compute(&self, inverse: bool, c: u32) -> Box<[u32]> {
        let dag = if inverse {
            &self.predecessors
        } else {
            &self.successors
        };
        let memo = self.memo(inverse);
        let mut out: Vec<u32> = Vec::new();
        if self.cyclic.get(c as usize).copied().unwrap_or(false) {
            out.extend_from_slice(self.members.row(c));
        }
        let mut seen: HashSet<u32> = HashSet::new();
        seen.insert(c);
        let mut stack: Vec<u32> = Vec::new();
        for &d in dag.row(c) {
            if seen.insert(d) {
                stack.push(d);
            }
        }
        let mut reused = false;
        while let Some(d) = stack.pop() {
            out.extend_from_slice(self.members.row(d));
            if let Some(known) = memo.get(d as usize).and_then(OnceLock::get) {
                out.extend_from_slice(known);
                reused = true;
                continue;
            }
            for &e in dag.row(d) {
                if seen.insert(e) {
                    stack.push(e);
                }
            }
        }
        out.sort_unstable();
        if reused {
            out.dedup();
        }
        out.into_boxed_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(n: usize, edges: &[(u32, u32)]) -> RelationIndex {
        RelationIndex::new(n, n, true, edges.to_vec())
    }

    #[test]
    fn csr_rows_are_sorted_and_deduplicated() {
        let r = index(4, &[(0, 2), (0, 1), (0, 2), (3, 0)]);
        assert_eq!(r.related(false, 0), &[1, 2]);
        assert_eq!(r.related(false, 1), &[] as &[u32]);
        assert_eq!(r.related(true, 0), &[3]);
        assert_eq!(r.related(true, 2), &[0]);
        assert_eq!(r.related(false, 99), &[] as &[u32]);
        assert_eq!(r.closure(false, 99), &[] as &[u32]);
    }

    #[test]
    fn closure_of_a_chain_excludes_the_start() {
        let r = index(4, &[(0, 1), (1, 2), (2, 3)]);
        assert_eq!(r.closure(false, 0), &[1, 2, 3]);
        assert_eq!(r.closure(false, 2), &[3]);
        assert_eq!(r.closure(false, 3), &[] as &[u32]);
        assert_eq!(r.closure(true, 3), &[0, 1, 2]);
        assert_eq!(r.closure(true, 0), &[] as &[u32]);
    }

    #[test]
    fn closure_on_a_cycle_includes_the_start() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 4 -> 0
        let r = index(5, &[(0, 1), (1, 2), (2, 0), (2, 3), (4, 0)]);
        for x in 0..3 {
            assert_eq!(r.closure(false, x), &[0, 1, 2, 3], "from {x}");
            assert_eq!(r.closure(true, x), &[0, 1, 2, 4], "to {x}");
        }
        assert_eq!(r.closure(false, 4), &[0, 1, 2, 3]);
        assert_eq!(r.closure(true, 3), &[0, 1, 2, 4]);
    }

    #[test]
    fn self_loop_puts_a_node_in_its_own_closure() {
        let r = index(3, &[(0, 0), (0, 1), (1, 2)]);
        assert_eq!(r.closure(false, 0), &[0, 1, 2]);
        assert_eq!(r.closure(false, 1), &[2]);
        assert_eq!(r.closure(true, 0), &[0]);
        assert_eq!(r.closure(true, 2), &[0, 1]);
    }

    #[test]
    fn diamond_counts_each_node_once() {
        // 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4
        let r = index(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]);
        // Memoize a lower node first so the walk from 0 reuses it.
        assert_eq!(r.closure(false, 1), &[3, 4]);
        assert_eq!(r.closure(false, 0), &[1, 2, 3, 4]);
        assert_eq!(r.closure(true, 4), &[0, 1, 2, 3]);
        assert_eq!(r.closure(true, 3), &[0, 1, 2]);
    }

    #[test]
    fn heterogeneous_closure_is_adjacency() {
        let r = RelationIndex::new(2, 3, false, vec![(0, 2), (1, 2), (0, 0)]);
        assert_eq!(r.closure(false, 0), &[0, 2]);
        assert_eq!(r.closure(true, 2), &[0, 1]);
        assert_eq!(r.closure(true, 0), &[0]);
    }

    #[test]
    fn long_chain_does_not_overflow_the_stack() {
        let n = 200_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let r = index(n as usize, &edges);
        assert_eq!(r.closure(false, n - 3), &[n - 2, n - 1]);
        assert_eq!(r.closure(true, 2), &[0, 1]);
    }

    #[test]
    fn closure_matches_a_naive_walk() {
        // A deterministic pseudo-random graph with cycles.
        let n = 60u32;
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let edges: Vec<(u32, u32)> = (0..90).map(|_| (next() % n, next() % n)).collect();
        let r = index(n as usize, &edges);
        for inverse in [false, true] {
            for x in 0..n {
                let mut seen = vec![false; n as usize];
                let mut stack = vec![x];
                while let Some(v) = stack.pop() {
                    for &(a, b) in &edges {
                        let (a, b) = if inverse { (b, a) } else { (a, b) };
                        if a == v && !seen[b as usize] {
                            seen[b as usize] = true;
                            stack.push(b);
                        }
                    }
                }
                let naive: Vec<u32> = (0..n).filter(|&i| seen[i as usize]).collect();
                assert_eq!(
                    r.closure(inverse, x),
                    naive.as_slice(),
                    "x={x} inverse={inverse}"
                );
            }
        }
    }
}
