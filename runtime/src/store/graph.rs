//! The edges of one relation: forward and backward adjacency in compressed sparse row form, and
//! the transitive closure in both directions, memoized per strongly connected component.
//!
//! A relation `r: A -> B` with `A != B` has no paths longer than one edge, so its closure is its
//! adjacency. For `r: A -> A` the loader condenses the graph into its strongly connected
//! components (an iterative Tarjan over the adjacency: the data may hold chains of any length,
//! so no recursion); the first `closure` of a node computes its component's result by a walk over the
//! condensed DAG, which sets the nodes it meets in a bit set the thread keeps and reads them out
//! in order (a closure is never sorted), and stores it in a `OnceLock`, so later reads are a
//! lookup without locking. [`RelationIndex::fill_closures`] computes a direction's closures
//! ahead of use, bottom-up so that each reuses those below it (the engine does so at load for
//! the closures its program takes).
//! The memo is capped ([`MEMO_CAP`] node indices per relation): past it, closures are computed
//! for each use and not kept, so a long-lived snapshot does not grow without bound (the closures
//! of every node of a 40,000-node chain would hold 800 million indices).
//!
//! The *size* of a closure is a per-node fact that does not need the closure: where the
//! condensed DAG is a chain or a tree below a component (each component below it entered by one
//! edge), sizes add up along it, and [`RelationIndex::closure_count`] answers from a table
//! computed once per direction in linear time. Elsewhere the size is counted by a walk (and
//! memoized), without materializing the closure.
//!
//! This module knows nothing of JSON, entity ids or values: only dense `u32` indices.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The most node indices the closure memo of one relation keeps (64 MiB, counting each kept
/// closure's allocation as 8 indices: [`kept_words`]).
pub(crate) const MEMO_CAP: usize = 16 * 1024 * 1024;

/// What keeping a closure of `len` nodes costs the memo, in node indices: the indices, and
/// for a closure that is not the shared empty one its allocation (reference counts and the
/// allocator's header, about 32 bytes), so that [`MEMO_CAP`] bounds the memory a memo holds
/// however small its closures are.
fn kept_words(len: usize) -> usize {
    if len == 0 { 0 } else { len + 8 }
}

/// The most node indices [`Condensed::fill`] lets the walks of one direction of one relation
/// insert (four times what the memo keeps at most).
pub(crate) const FILL_WORK: usize = 4 * MEMO_CAP;

/// The size of a closure, and whether it came from the table of sizes (no walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosureCount {
    pub count: usize,
    /// The size was read from the table computed for the relation's shape (a chain or a tree);
    /// `false` when it had to be counted by a walk.
    pub direct: bool,
}

/// Rows of sorted, deduplicated `u32` targets.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr {
    offsets: Box<[usize]>,
    targets: Box<[u32]>,
}

impl Csr {
    /// The rows of `edges` (in any order, repeats allowed), each sorted and deduplicated, in
    /// linear time but for the sorting of each row (a counting sort by source: rows are short).
    /// Edges whose source is not below `n_rows` are ignored (the loader never produces them).
    /// `edges` is walked twice.
    pub(crate) fn from_edges<I>(n_rows: usize, edges: I) -> Csr
    where
        I: Iterator<Item = (u32, u32)> + Clone,
    {
        // Row sizes, then their starts.
        let mut offsets = vec![0usize; n_rows.saturating_add(1)];
        for (src, _) in edges.clone() {
            if let Some(count) = offsets.get_mut(src as usize + 1) {
                *count += 1;
            }
        }
        for i in 1..offsets.len() {
            let prev = offsets.get(i - 1).copied().unwrap_or(0);
            if let Some(cur) = offsets.get_mut(i) {
                *cur += prev;
            }
        }
        let total = offsets.last().copied().unwrap_or(0);
        let mut targets = vec![0u32; total];
        let mut next: Vec<usize> = offsets.get(..n_rows).unwrap_or_default().to_vec();
        let mut sorted = true;
        for (src, dst) in edges {
            if let Some(pos) = next.get_mut(src as usize) {
                if *pos > offsets.get(src as usize).copied().unwrap_or(0)
                    && targets.get(*pos - 1).is_some_and(|&prev| prev >= dst)
                {
                    sorted = false;
                }
                if let Some(slot) = targets.get_mut(*pos) {
                    *slot = dst;
                }
                *pos += 1;
            }
        }
        drop(next);
        if !sorted {
            sort_rows(&mut offsets, &mut targets);
        }
        Csr {
            offsets: offsets.into_boxed_slice(),
            targets: targets.into_boxed_slice(),
        }
    }

    /// The reversed edges, as rows `0..n_rows` (targets not below it are ignored). Rows come out
    /// sorted: sources are visited in order, each once per target.
    fn transpose(&self, n_rows: usize) -> Csr {
        let edges = (0u32..)
            .take(self.n_rows())
            .flat_map(|src| self.row(src).iter().map(move |&dst| (dst, src)));
        Csr::from_edges(n_rows, edges)
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

/// Sorts and deduplicates each row of a CSR in place (`offsets` has one entry per row and
/// one more), moving the rows together and truncating `targets`.
fn sort_rows(offsets: &mut [usize], targets: &mut Vec<u32>) {
    let mut write = 0usize;
    let mut start = 0usize;
    for r in 1..offsets.len() {
        let end = offsets.get(r).copied().unwrap_or(start);
        if let Some(row) = targets.get_mut(start..end) {
            row.sort_unstable();
        }
        let row_start = write;
        for i in start..end {
            let Some(t) = targets.get(i).copied() else {
                break;
            };
            let repeated = write > row_start && targets.get(write - 1) == Some(&t);
            if !repeated {
                if let Some(slot) = targets.get_mut(write) {
                    *slot = t;
                }
                write += 1;
            }
        }
        if let Some(slot) = offsets.get_mut(r - 1) {
            *slot = row_start;
        }
        start = end;
    }
    if let Some(last) = offsets.last_mut() {
        *last = write;
    }
    targets.truncate(write);
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
        edges: Vec<(u32, u32)>,
    ) -> RelationIndex {
        let forward = Csr::from_edges(n_from, edges.iter().copied());
        drop(edges);
        let backward = forward.transpose(n_to);
        let condensed = homogeneous.then(|| Condensed::new(&forward));
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

    pub(crate) fn closure(&self, inverse: bool, idx: u32) -> Arc<[u32]> {
        match &self.condensed {
            Some(condensed) => condensed.closure(inverse, idx),
            None => Arc::from(self.related(inverse, idx)),
        }
    }

    /// Computes and keeps every closure in direction `inverse` now, up to the memo's cap (see
    /// [`Condensed::fill`]); gives how many components' closures were computed. A relation
    /// between two types has nothing to keep: its closure is its adjacency.
    pub(crate) fn fill_closures(&self, inverse: bool) -> usize {
        self.condensed.as_ref().map_or(0, |c| c.fill(inverse))
    }

    /// The size of `closure(inverse, idx)`, without computing the closure.
    pub(crate) fn closure_count(&self, inverse: bool, idx: u32) -> ClosureCount {
        match &self.condensed {
            Some(condensed) => condensed.count(inverse, idx),
            None => ClosureCount {
                count: self.related(inverse, idx).len(),
                direct: true,
            },
        }
    }

    /// Whether `to` is in `closure(inverse, from)`.
    pub(crate) fn reaches(&self, inverse: bool, from: u32, to: u32) -> bool {
        match &self.condensed {
            Some(condensed) => condensed.closure(inverse, from).binary_search(&to).is_ok(),
            None => self.related(inverse, from).binary_search(&to).is_ok(),
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
    /// Every component is one node (the relation has no cycle of two nodes or more): the
    /// node of component `c` is then `members.targets[c]`.
    singletons: bool,
    successors: Csr,
    predecessors: Csr,
    /// Closure per component, following the edges.
    memo_forward: Box<[OnceLock<Arc<[u32]>>]>,
    /// Closure per component, against the edges.
    memo_backward: Box<[OnceLock<Arc<[u32]>>]>,
    /// How many node indices the two memos hold, with their allocations ([`kept_words`]; at
    /// most [`MEMO_CAP`]).
    memoized: AtomicUsize,
    /// The closure of the components that reach nothing, shared.
    empty: Arc<[u32]>,
    /// Closure sizes per component, following and against the edges, computed on first use.
    sizes_forward: OnceLock<Sizes>,
    sizes_backward: OnceLock<Sizes>,
}

/// The strongly connected components of `graph` (Tarjan's algorithm, iterative: the data may
/// hold chains of any length, so no recursion): the component of each node, and how many there
/// are. Components are numbered as they are completed, so every edge between two components
/// goes from a higher number to a lower one. Targets not below the number of rows are ignored.
fn components(graph: &Csr) -> (Vec<u32>, usize) {
    let n = graph.n_rows();
    let mut walk = Tarjan {
        order: vec![UNSEEN; n],
        low: vec![0; n],
        component: vec![UNSEEN; n],
        open: Vec::new(),
        calls: Vec::new(),
        discovered: 0,
        completed: 0,
    };
    for root in (0u32..).take(n) {
        if walk.order.get(root as usize) == Some(&UNSEEN) {
            walk.enter(root);
            walk.run(graph);
        }
    }
    (walk.component, walk.completed as usize)
}

/// Not yet discovered, or not yet in a component.
const UNSEEN: u32 = u32::MAX;

/// The state of [`components`].
struct Tarjan {
    /// Discovery order of each node.
    order: Vec<u32>,
    /// The lowest discovery order reachable from the node through nodes still open.
    low: Vec<u32>,
    /// The component of each node once known; a node discovered but without one is on `open`.
    component: Vec<u32>,
    open: Vec<u32>,
    /// The walk: a node and the position of its next edge.
    calls: Vec<(u32, usize)>,
    discovered: u32,
    completed: u32,
}

impl Tarjan {
    fn enter(&mut self, v: u32) {
        if let (Some(o), Some(l)) = (self.order.get_mut(v as usize), self.low.get_mut(v as usize)) {
            *o = self.discovered;
            *l = self.discovered;
        }
        self.discovered += 1;
        self.open.push(v);
        self.calls.push((v, 0));
    }

    /// Walks until the call stack is empty.
    fn run(&mut self, graph: &Csr) {
        while let Some((v, pos)) = self.calls.last_mut() {
            let v = *v;
            if let Some(&w) = graph.row(v).get(*pos) {
                *pos += 1;
                match self.order.get(w as usize).copied() {
                    None => {}
                    Some(UNSEEN) => self.enter(w),
                    Some(w_order) => {
                        let open = self.component.get(w as usize) == Some(&UNSEEN);
                        if let (true, Some(l)) = (open, self.low.get_mut(v as usize)) {
                            *l = (*l).min(w_order);
                        }
                    }
                }
                continue;
            }
            self.calls.pop();
            let v_low = self.low.get(v as usize).copied().unwrap_or(0);
            if Some(&v_low) == self.order.get(v as usize) {
                while let Some(w) = self.open.pop() {
                    if let Some(c) = self.component.get_mut(w as usize) {
                        *c = self.completed;
                    }
                    if w == v {
                        break;
                    }
                }
                self.completed += 1;
            }
            if let Some(l) = self
                .calls
                .last()
                .and_then(|&(u, _)| self.low.get_mut(u as usize))
            {
                *l = (*l).min(v_low);
            }
        }
    }
}

/// The closure sizes of one direction: from the table where the shape gives them, else
/// counted by a walk on first use.
struct Sizes {
    /// Per component, the size of its closure, or [`UNKNOWN`].
    table: Box<[u32]>,
    /// Per component whose size is not in the table: 0 until counted, then size + 1.
    counted: Box<[AtomicU32]>,
}

const UNKNOWN: u32 = u32::MAX;

impl Condensed {
    fn new(forward: &Csr) -> Condensed {
        let n = forward.n_rows();
        let (component, n_components) = components(forward);
        let comp = |node: u32| component.get(node as usize).copied().unwrap_or(0);
        // Nodes are visited in order, so each component's members come out sorted.
        let members = Csr::from_edges(n_components, (0u32..).take(n).map(|v| (comp(v), v)));
        let cyclic: Vec<bool> = (0u32..)
            .take(n_components)
            .map(|c| match members.row(c) {
                [single] => forward.row(*single).binary_search(single).is_ok(),
                nodes => !nodes.is_empty(),
            })
            .collect();
        let dag = (0u32..).take(n).flat_map(|a| {
            forward
                .row(a)
                .iter()
                .filter(move |&&b| (b as usize) < n)
                .map(move |&b| (comp(a), comp(b)))
                .filter(|(ca, cb)| ca != cb)
        });
        let successors = Csr::from_edges(n_components, dag);
        let predecessors = successors.transpose(n_components);

        let memo = || (0..n_components).map(|_| OnceLock::new()).collect();
        Condensed {
            component: component.into_boxed_slice(),
            members,
            cyclic: cyclic.into_boxed_slice(),
            singletons: n_components == n,
            successors,
            predecessors,
            memo_forward: memo(),
            memo_backward: memo(),
            memoized: AtomicUsize::new(0),
            empty: Arc::from([]),
            sizes_forward: OnceLock::new(),
            sizes_backward: OnceLock::new(),
        }
    }

    /// The DAG a direction walks, and the one against it.
    fn dags(&self, inverse: bool) -> (&Csr, &Csr) {
        if inverse {
            (&self.predecessors, &self.successors)
        } else {
            (&self.successors, &self.predecessors)
        }
    }

    /// The nodes of component `c` that its own closure holds: all of them on a cycle, else none.
    fn own(&self, c: u32) -> usize {
        if self.cyclic.get(c as usize).copied().unwrap_or(false) {
            self.members.row(c).len()
        } else {
            0
        }
    }

    /// The size of the closure of node `idx`.
    fn count(&self, inverse: bool, idx: u32) -> ClosureCount {
        let Some(&c) = self.component.get(idx as usize) else {
            return ClosureCount {
                count: 0,
                direct: true,
            };
        };
        let cell = if inverse {
            &self.sizes_backward
        } else {
            &self.sizes_forward
        };
        let sizes = cell.get_or_init(|| self.sizes(inverse));
        match sizes.table.get(c as usize) {
            Some(&n) if n != UNKNOWN => ClosureCount {
                count: n as usize,
                direct: true,
            },
            _ => {
                let slot = sizes.counted.get(c as usize);
                let known = slot.map_or(0, |s| s.load(Ordering::Acquire));
                let count = match known.checked_sub(1) {
                    Some(n) => n as usize,
                    None => {
                        let n = self.walk_count(inverse, c);
                        if let (Some(slot), Ok(stored)) = (slot, u32::try_from(n + 1)) {
                            slot.store(stored, Ordering::Release);
                        }
                        n
                    }
                };
                ClosureCount {
                    count,
                    direct: false,
                }
            }
        }
    }

    /// The table of sizes for one direction, in linear time: components in an order where
    /// everything below a component comes first (Kahn's algorithm over the DAG against the
    /// direction). A component with no successor has its own nodes; with one successor `d`, it
    /// adds `d`'s nodes and closure (`d`'s nodes are in `d`'s closure exactly when `d` is
    /// cyclic); with several, it adds them up only when the DAG below it is a tree (every
    /// component below entered by one edge, so no node is counted twice). The others are left
    /// to [`Condensed::walk_count`].
    fn sizes(&self, inverse: bool) -> Sizes {
        let (next, prev) = self.dags(inverse);
        let n = self.cyclic.len();
        let mut table = vec![UNKNOWN; n];
        // Whether the DAG below a component is a tree of components entered by one edge each.
        let mut tree = vec![false; n];
        let mut pending: Vec<usize> = (0..n as u32).map(|c| next.row(c).len()).collect();
        let mut ready: Vec<u32> = (0..n as u32)
            .filter(|&c| pending.get(c as usize) == Some(&0))
            .collect();
        while let Some(c) = ready.pop() {
            for &p in prev.row(c) {
                if let Some(k) = pending.get_mut(p as usize) {
                    *k -= 1;
                    if *k == 0 {
                        ready.push(p);
                    }
                }
            }
            let succ = next.row(c);
            let known = |d: u32| table.get(d as usize).copied().unwrap_or(UNKNOWN);
            let below_is_tree = succ
                .iter()
                .all(|&d| prev.row(d).len() == 1 && tree.get(d as usize) == Some(&true));
            let countable =
                below_is_tree || (succ.len() == 1 && succ.iter().all(|&d| known(d) != UNKNOWN));
            if let Some(slot) = tree.get_mut(c as usize) {
                *slot = below_is_tree;
            }
            if !countable {
                continue;
            }
            let mut size = self.own(c) as u64;
            for &d in succ {
                let below = u64::from(known(d));
                size += self.members.row(d).len() as u64 + below - self.own(d) as u64;
            }
            if let (Some(slot), Ok(size)) = (table.get_mut(c as usize), u32::try_from(size))
                && size != UNKNOWN
            {
                *slot = size;
            }
        }
        Sizes {
            table: table.into_boxed_slice(),
            counted: (0..n).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Computes and keeps the closure of every component in direction `inverse`, from the bottom
    /// of the condensed DAG up: a component's successors are done before it, so its walk goes
    /// one level down and copies their closures, and the whole fill costs about the size of
    /// what it keeps. Stops before a closure could take the memo past [`MEMO_CAP`], or the
    /// walks past [`FILL_WORK`] node indices (a DAG whose components share much of what lies
    /// below them copies more than it keeps); the closures not computed are computed on first
    /// use, as without the fill. Gives how many closures were computed.
    fn fill(&self, inverse: bool) -> usize {
        let memo = self.memo(inverse);
        let (dag, _) = self.dags(inverse);
        let n = memo.len();
        let (mut work, mut computed) = (0usize, 0usize);
        for k in 0..n {
            // Every edge of the condensed DAG goes from a higher component number to a lower
            // one: following the edges, lower numbers are below; against them, higher ones.
            let c = if inverse { n - 1 - k } else { k };
            let Some(cell) = memo.get(c).filter(|cell| cell.get().is_none()) else {
                continue;
            };
            let c = c as u32;
            // An upper bound of the walk's inserts and of the closure's size.
            let cost = self.own(c)
                + dag
                    .row(c)
                    .iter()
                    .map(|&e| {
                        let kept = memo.get(e as usize).and_then(OnceLock::get);
                        self.members.row(e).len() + kept.map_or(0, |k| k.len())
                    })
                    .sum::<usize>();
            work = work.saturating_add(cost);
            if work > FILL_WORK
                || self
                    .memoized
                    .load(Ordering::Relaxed)
                    .saturating_add(kept_words(cost))
                    > MEMO_CAP
            {
                break;
            }
            match self.one_level(inverse, c) {
                Some(closure) => self.keep(cell, &closure),
                None => {
                    self.component_closure(inverse, c);
                }
            }
            computed += 1;
        }
        computed
    }

    /// The size of component `c`'s closure, by a walk of the DAG below it (nothing is
    /// materialized but the set of nodes met).
    fn walk_count(&self, inverse: bool, c: u32) -> usize {
        // A closure already computed has its size.
        if let Some(known) = self.memo(inverse).get(c as usize).and_then(OnceLock::get) {
            return known.len();
        }
        let mut met = NodeSet::take(self.component.len());
        self.walk(inverse, c, &mut met);
        met.len()
    }

    fn memo(&self, inverse: bool) -> &[OnceLock<Arc<[u32]>>] {
        if inverse {
            &self.memo_backward
        } else {
            &self.memo_forward
        }
    }

    fn closure(&self, inverse: bool, idx: u32) -> Arc<[u32]> {
        let Some(&c) = self.component.get(idx as usize) else {
            return Arc::clone(&self.empty);
        };
        self.component_closure(inverse, c)
    }

    /// The closure of component `c`, from the memo or computed (and kept while there is room).
    fn component_closure(&self, inverse: bool, c: u32) -> Arc<[u32]> {
        let Some(cell) = self.memo(inverse).get(c as usize) else {
            return Arc::clone(&self.empty);
        };
        if let Some(known) = cell.get() {
            return Arc::clone(known);
        }
        let computed = self.compute(inverse, c);
        self.keep(cell, &computed);
        computed
    }

    /// Keeps `closure` in `cell` while the memo has room (a race may overshoot the cap by a
    /// few closures).
    fn keep(&self, cell: &OnceLock<Arc<[u32]>>, closure: &Arc<[u32]>) {
        let len = kept_words(closure.len());
        if self.memoized.load(Ordering::Relaxed).saturating_add(len) <= MEMO_CAP
            && cell.set(Arc::clone(closure)).is_ok()
        {
            self.memoized.fetch_add(len, Ordering::Relaxed);
        }
    }

    /// The closure of component `c` without a walk, when it is not on a cycle and has at most
    /// one successor, whose closure is kept (most components of a tree or a chain): that
    /// successor's nodes and closure merged. `None` otherwise.
    fn one_level(&self, inverse: bool, c: u32) -> Option<Arc<[u32]>> {
        if self.own(c) > 0 {
            return None;
        }
        let (dag, _) = self.dags(inverse);
        match dag.row(c) {
            [] => Some(Arc::clone(&self.empty)),
            [e] => {
                let below = self.memo(inverse).get(*e as usize)?.get()?;
                Some(Arc::from(union_sorted(self.members.row(*e), below)))
            }
            _ => None,
        }
    }

    /// Every node reachable from component `c` by one or more edges, sorted: the nodes
    /// [`Condensed::walk`] meets, read out of its set in order.
    fn compute(&self, inverse: bool, c: u32) -> Arc<[u32]> {
        let mut met = NodeSet::take(self.component.len());
        self.walk(inverse, c, &mut met);
        // Taken out (a walk inside a walk finds none and makes its own).
        let mut out = GATHERED.take();
        met.drain_sorted(&mut out);
        // Most components of most relations reach nothing: they share one empty closure.
        let closure = if out.is_empty() {
            Arc::clone(&self.empty)
        } else {
            Arc::from(&out[..])
        };
        // `try_with`: the thread's slot may be gone when a thread exits.
        let _ = GATHERED.try_with(|slot| slot.set(out));
        closure
    }

    /// Puts into `met` every node reachable from component `c` by one or more edges: `c`'s own
    /// nodes when it is cyclic, and the nodes of every component below it in the condensed DAG.
    ///
    /// The set of nodes is also the set of components met: a component's nodes are put in
    /// together, so a component was met exactly when its first node is in the set. Below a
    /// component whose closure is memoized the walk does not go: its nodes and its closure go
    /// into the set, and the components in that closure count as met (everything below them
    /// is in it too). `met` starts empty.
    fn walk(&self, inverse: bool, c: u32, met: &mut NodeSet) {
        let (dag, _) = self.dags(inverse);
        let memo = self.memo(inverse);
        if self.cyclic.get(c as usize).copied().unwrap_or(false) {
            for &x in self.members.row(c) {
                met.insert(x);
            }
        }
        // The walk's stack, kept by the thread (taken out like `GATHERED`; pushing to a `Vec`
        // with room is a test and a store).
        let mut stack = STACK.take();
        stack.clear();
        // The nodes of component `e`: where every component is one node, a slice of one read
        // without the row's bounds (most relations have no cycle).
        let nodes_of = |e: u32| -> &[u32] {
            if self.singletons {
                let e = e as usize;
                self.members.targets.get(e..e + 1).unwrap_or_default()
            } else {
                self.members.row(e)
            }
        };
        // `c` first: it is never met again (the condensed graph has no cycle), and one loop
        // with one copy of its body costs less than a call per edge.
        stack.push(c);
        while let Some(d) = stack.pop() {
            for &e in dag.row(d) {
                let nodes = nodes_of(e);
                // Most components are one node.
                let new = match nodes {
                    [only] => met.insert(*only),
                    _ => nodes.first().is_some_and(|&first| !met.contains(first)),
                };
                if !new {
                    continue;
                }
                if nodes.len() > 1 {
                    for &x in nodes {
                        met.insert(x);
                    }
                }
                match memo.get(e as usize).and_then(OnceLock::get) {
                    Some(known) => {
                        for &x in known.iter() {
                            met.insert(x);
                        }
                    }
                    None => stack.push(e),
                }
            }
        }
        // `try_with`: the thread's slot may be gone when a thread exits.
        let _ = STACK.try_with(|slot| slot.set(stack));
    }
}

/// The union of two sorted lists of distinct nodes, sorted and distinct.
fn union_sorted(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => {
                out.push(x.min(y));
                i += usize::from(x <= y);
                j += usize::from(y <= x);
            }
            (Some(_), None) => {
                out.extend_from_slice(a.get(i..).unwrap_or_default());
                return out;
            }
            (None, _) => {
                out.extend_from_slice(b.get(j..).unwrap_or_default());
                return out;
            }
        }
    }
}

thread_local! {
    /// The nodes a closure is read into, kept by the thread between walks (capacity only).
    static GATHERED: std::cell::Cell<Vec<u32>> = const { std::cell::Cell::new(Vec::new()) };
    /// The components a closure walk has yet to visit, kept likewise.
    static STACK: std::cell::Cell<Vec<u32>> = const { std::cell::Cell::new(Vec::new()) };
    /// The bit set of this thread's [`NodeSet`]s, all zeros when no set holds it, and the
    /// list of words a set used (empty, its capacity kept).
    static NODES: std::cell::Cell<(Vec<u64>, Vec<u32>)> =
        const { std::cell::Cell::new((Vec::new(), Vec::new())) };
}

/// Up to this many words set, [`NodeSet::drain_sorted`] sorts them rather than pass over the
/// words between them.
const FEW_WORDS: usize = 8;

/// The nodes a closure walk has met: one bit per node of the graph, in a bit set the thread
/// keeps between walks, and the list of the words set.
///
/// The bit set is all zeros between walks: a set clears the words it used when it is read
/// out or dropped, so a walk costs what it meets, never the size of the graph (zeroing a
/// fresh bit set per walk cost 100 KB of writes per closure on an estate of 800,000 assets).
/// Reading the nodes out in order costs a pass over the words between the lowest and the
/// highest set when they are few against the words set, else a sort of the words set (at most
/// one per node): a closure comes out sorted and without repeats with no sort of its nodes.
struct NodeSet {
    bits: Vec<u64>,
    /// The words of `bits` this set uses, in the order first used.
    touched: Vec<u32>,
    /// Nodes in the graph (`bits` may be longer: kept from a larger graph).
    n: usize,
    /// Nodes in the set.
    len: usize,
    lowest_word: u32,
    highest_word: u32,
}

impl NodeSet {
    /// An empty set for a graph of `n` nodes, on the thread's bit set (a set taken while
    /// another is held finds none and makes its own).
    fn take(n: usize) -> NodeSet {
        let (mut bits, touched) = NODES.take();
        let words = n.div_ceil(64).max(1);
        if bits.len() < words {
            bits.resize(words, 0);
        }
        NodeSet {
            bits,
            touched,
            n,
            len: 0,
            lowest_word: u32::MAX,
            highest_word: 0,
        }
    }

    /// Adds node `x`; whether it was not there yet (a node not in the graph never is).
    #[inline]
    fn insert(&mut self, x: u32) -> bool {
        if x as usize >= self.n {
            return false;
        }
        let w = x / 64;
        let Some(word) = self.bits.get_mut(w as usize) else {
            return false;
        };
        let bit = 1u64 << (x % 64);
        if *word & bit != 0 {
            return false;
        }
        if *word == 0 {
            self.touched.push(w);
            self.lowest_word = self.lowest_word.min(w);
            self.highest_word = self.highest_word.max(w);
        }
        *word |= bit;
        self.len += 1;
        true
    }

    #[inline]
    fn contains(&self, x: u32) -> bool {
        (x as usize) < self.n
            && self
                .bits
                .get(x as usize / 64)
                .is_some_and(|word| word & (1u64 << (x % 64)) != 0)
    }

    fn len(&self) -> usize {
        self.len
    }

    /// Replaces `out`'s contents with the set's nodes in order, and empties the set.
    fn drain_sorted(&mut self, out: &mut Vec<u32>) {
        out.clear();
        out.reserve(self.len);
        let mut read = |w: u32, word: &mut u64| {
            let mut rest = std::mem::take(word);
            while rest != 0 {
                out.push(w * 64 + rest.trailing_zeros());
                rest &= rest - 1;
            }
        };
        if self.touched.is_empty() {
            return;
        }
        let span = self.highest_word.saturating_sub(self.lowest_word) as usize + 1;
        // Passing over a word that is zero costs a load and a test; sorting the words set
        // costs tens of instructions per word, but a few words sort in fewer.
        let few = self.touched.len() <= FEW_WORDS;
        if !few && span <= 16 * self.touched.len() {
            let range = self
                .bits
                .get_mut(self.lowest_word as usize..=self.highest_word as usize)
                .unwrap_or_default();
            // Eight words at a time: most are zero, and one test of the eight or-ed together
            // costs less than a test of each.
            let mut chunks = range.chunks_exact_mut(8);
            let mut w = self.lowest_word;
            for chunk in &mut chunks {
                if chunk.iter().fold(0, |any, word| any | *word) != 0 {
                    for (k, word) in (w..).zip(chunk.iter_mut()) {
                        if *word != 0 {
                            read(k, word);
                        }
                    }
                }
                w += 8;
            }
            for (k, word) in (w..).zip(chunks.into_remainder().iter_mut()) {
                if *word != 0 {
                    read(k, word);
                }
            }
        } else {
            self.touched.sort_unstable();
            for &w in &self.touched {
                if let Some(word) = self.bits.get_mut(w as usize) {
                    read(w, word);
                }
            }
        }
        self.touched.clear();
        self.len = 0;
        self.lowest_word = u32::MAX;
        self.highest_word = 0;
    }
}

impl Drop for NodeSet {
    /// Clears the words this set used and gives the bit set back to the thread.
    fn drop(&mut self) {
        for &w in self.touched.iter() {
            if let Some(word) = self.bits.get_mut(w as usize) {
                *word = 0;
            }
        }
        self.touched.clear();
        let kept = (
            std::mem::take(&mut self.bits),
            std::mem::take(&mut self.touched),
        );
        // `try_with`: the thread's slot may be gone when a thread exits.
        let _ = NODES.try_with(|slot| slot.set(kept));
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
        assert_eq!(&*r.closure(false, 99), &[] as &[u32]);
    }

    #[test]
    fn closure_of_a_chain_excludes_the_start() {
        let r = index(4, &[(0, 1), (1, 2), (2, 3)]);
        assert_eq!(&*r.closure(false, 0), &[1, 2, 3]);
        assert_eq!(&*r.closure(false, 2), &[3]);
        assert_eq!(&*r.closure(false, 3), &[] as &[u32]);
        assert_eq!(&*r.closure(true, 3), &[0, 1, 2]);
        assert_eq!(&*r.closure(true, 0), &[] as &[u32]);
    }

    #[test]
    fn closure_on_a_cycle_includes_the_start() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 4 -> 0
        let r = index(5, &[(0, 1), (1, 2), (2, 0), (2, 3), (4, 0)]);
        assert!(r.condensed.as_ref().is_some_and(|c| !c.singletons));
        for x in 0..3 {
            assert_eq!(&*r.closure(false, x), &[0, 1, 2, 3], "from {x}");
            assert_eq!(&*r.closure(true, x), &[0, 1, 2, 4], "to {x}");
        }
        assert_eq!(&*r.closure(false, 4), &[0, 1, 2, 3]);
        assert_eq!(&*r.closure(true, 3), &[0, 1, 2, 4]);
    }

    #[test]
    fn self_loop_puts_a_node_in_its_own_closure() {
        let r = index(3, &[(0, 0), (0, 1), (1, 2)]);
        assert_eq!(&*r.closure(false, 0), &[0, 1, 2]);
        assert_eq!(&*r.closure(false, 1), &[2]);
        assert_eq!(&*r.closure(true, 0), &[0]);
        assert_eq!(&*r.closure(true, 2), &[0, 1]);
    }

    #[test]
    fn diamond_counts_each_node_once() {
        // 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4
        let r = index(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]);
        let Some(condensed) = &r.condensed else {
            panic!("a relation on one type is condensed");
        };
        assert!(
            condensed.singletons,
            "no cycle: every component is one node"
        );
        // Memoize a lower node first so the walk from 0 reuses it.
        assert_eq!(&*r.closure(false, 1), &[3, 4]);
        assert_eq!(&*r.closure(false, 0), &[1, 2, 3, 4]);
        assert_eq!(&*r.closure(true, 4), &[0, 1, 2, 3]);
        assert_eq!(&*r.closure(true, 3), &[0, 1, 2]);
    }

    #[test]
    fn a_long_cycle_is_one_component() {
        // 0 -> 1 -> ... -> n-1 -> 0, and a tail n-1 -> n.
        let n = 200_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1)
            .map(|i| (i, i + 1))
            .chain([(n - 1, 0), (n - 1, n)])
            .collect();
        let r = index(n as usize + 1, &edges);
        let Some(condensed) = &r.condensed else {
            panic!("a relation on one type is condensed");
        };
        assert_eq!(condensed.members.n_rows(), 2);
        assert_eq!(r.closure_count(false, 5).count, n as usize + 1);
        assert_eq!(r.closure_count(true, n).count, n as usize);
        assert_eq!(&*r.closure(false, n), &[] as &[u32]);
    }

    #[test]
    fn rows_are_sorted_whatever_the_edge_order() {
        let edges = [
            (2, 0),
            (0, 3),
            (2, 0),
            (0, 1),
            (1, 1),
            (0, 3),
            (0, 0),
            (9, 1),
            (1, 9),
        ];
        let csr = Csr::from_edges(3, edges.iter().copied());
        assert_eq!(csr.row(0), &[0, 1, 3]);
        assert_eq!(csr.row(1), &[1, 9]);
        assert_eq!(csr.row(2), &[0]);
        assert_eq!(csr.row(3), &[] as &[u32]);
        let back = csr.transpose(4);
        assert_eq!(back.row(0), &[0, 2]);
        assert_eq!(back.row(1), &[0, 1]);
        assert_eq!(back.row(2), &[] as &[u32]);
        assert_eq!(back.row(3), &[0]);
    }

    #[test]
    fn heterogeneous_closure_is_adjacency() {
        let r = RelationIndex::new(2, 3, false, vec![(0, 2), (1, 2), (0, 0)]);
        assert_eq!(&*r.closure(false, 0), &[0, 2]);
        assert_eq!(&*r.closure(true, 2), &[0, 1]);
        assert_eq!(&*r.closure(true, 0), &[0]);
    }

    #[test]
    fn long_chain_does_not_overflow_the_stack() {
        let n = 200_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let r = index(n as usize, &edges);
        assert_eq!(&*r.closure(false, n - 3), &[n - 2, n - 1]);
        assert_eq!(&*r.closure(true, 2), &[0, 1]);
    }

    #[test]
    fn closure_matches_a_naive_walk() {
        // Deterministic pseudo-random graphs with cycles, sparse to dense.
        for (n, m, mut seed) in [
            (60u32, 90, 0x2545_f491_u32),
            (40, 30, 7),
            (40, 120, 12_345),
            (25, 200, 99),
            (700, 1_400, 4_242),
        ] {
            let mut next = || {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed
            };
            let edges: Vec<(u32, u32)> = (0..m).map(|_| (next() % n, next() % n)).collect();
            let r = index(n as usize, &edges);
            // Sizes asked first and from the other end, on a snapshot of their own: counted by
            // walks that find no closure memoized, or other closures than `r`'s do.
            let fresh = index(n as usize, &edges);
            for inverse in [false, true] {
                let counted: Vec<usize> = (0..n)
                    .rev()
                    .map(|x| fresh.closure_count(inverse, x).count)
                    .collect();
                for x in (0..n).rev().step_by(3) {
                    fresh.closure(inverse, x);
                }
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
                        &*r.closure(inverse, x),
                        naive.as_slice(),
                        "n={n} m={m} x={x} inverse={inverse}"
                    );
                    assert_eq!(
                        r.closure_count(inverse, x).count,
                        naive.len(),
                        "count n={n} m={m} x={x} inverse={inverse}"
                    );
                    assert_eq!(
                        counted[(n - 1 - x) as usize],
                        naive.len(),
                        "first count n={n} m={m} x={x} inverse={inverse}"
                    );
                    assert_eq!(
                        &*fresh.closure(inverse, x),
                        naive.as_slice(),
                        "fresh n={n} m={m} x={x} inverse={inverse}"
                    );
                }
            }
        }
    }

    /// The thread's bit set and list of words, checked to be all zeros and empty.
    fn assert_nodes_clear(when: &str) {
        NODES.with(|slot| {
            let (bits, touched) = slot.take();
            assert!(bits.iter().all(|&w| w == 0), "bits left set {when}");
            assert!(touched.is_empty(), "words left listed {when}");
            slot.set((bits, touched));
        });
    }

    #[test]
    fn node_sets_read_out_sorted_at_every_spread() {
        // Small sets, dense ones (read by passing over a range of words) and sparse ones (by
        // sorting the words set), with repeats, against sort and dedup; the thread's bit set
        // is all zeros after each, whether the set was read out or dropped unread.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for &(len, range) in &[
            (0usize, 1u32),
            (5, 10),
            (16, 1_000),
            (17, 40),
            (200, 300),
            (200, 64 * 64),
            (300, 1_000_000),
            (2_000, 5_000),
            (65, 65 * 4096),
            (65, 1 << 24),
        ] {
            for read in [true, false] {
                let nodes: Vec<u32> = (0..len)
                    .map(|_| (next() % u64::from(range)) as u32)
                    .collect();
                let mut expected = nodes.clone();
                expected.sort_unstable();
                expected.dedup();
                let mut set = NodeSet::take(range as usize);
                let new = nodes.iter().filter(|&&x| set.insert(x)).count();
                assert_eq!(new, expected.len(), "{len} nodes below {range}");
                assert_eq!(set.len(), expected.len());
                assert!(expected.iter().all(|&x| set.contains(x)));
                assert!(
                    !set.insert(range),
                    "a node past the graph is never in the set"
                );
                if read {
                    let mut out = vec![7];
                    set.drain_sorted(&mut out);
                    assert_eq!(out, expected, "{len} nodes below {range}");
                    assert_eq!(set.len(), 0);
                    assert!(expected.iter().all(|&x| !set.contains(x)));
                }
                drop(set);
                assert_nodes_clear(&format!("after {len} nodes below {range}"));
            }
        }
    }

    #[test]
    fn walks_leave_the_threads_bit_set_clear_across_graphs() {
        // A long chain and then a small graph: the bit set kept from the chain is longer than
        // the small graph needs, and must be all zeros.
        let long: Vec<(u32, u32)> = (0..499).map(|i| (i, i + 1)).collect();
        let chain = index(500, &long);
        assert_eq!(chain.closure(false, 0).len(), 499);
        assert_eq!(chain.closure_count(true, 499).count, 499);
        NODES.with(|slot| {
            let (bits, touched) = slot.take();
            assert!(bits.len() >= 8, "the bit set was kept");
            slot.set((bits, touched));
        });
        assert_nodes_clear("after the chain");
        let edges: Vec<(u32, u32)> = (0..40).map(|i| (i, i + 1)).chain([(40, 0)]).collect();
        let small = index(41, &edges);
        for x in 0..41 {
            let all: Vec<u32> = (0..41).collect();
            assert_eq!(&*small.closure(false, x), all.as_slice(), "from {x}");
        }
        assert_nodes_clear("after the small graph");
    }

    /// Sizes of every node's closure in both directions, and whether each came from the table.
    fn counts(r: &RelationIndex, n: u32) -> Vec<(usize, bool, usize, bool)> {
        (0..n)
            .map(|x| {
                let (f, b) = (r.closure_count(false, x), r.closure_count(true, x));
                assert_eq!(f.count, r.closure(false, x).len(), "forward {x}");
                assert_eq!(b.count, r.closure(true, x).len(), "backward {x}");
                (f.count, f.direct, b.count, b.direct)
            })
            .collect()
    }

    /// Chains, trees in either direction and cycles on them have their sizes in the table;
    /// shared descendants (a diamond) are counted by a walk, and agree.
    #[test]
    fn closure_sizes_come_from_the_shape() {
        // A chain 0 -> 1 -> 2 -> 3.
        let r = index(4, &[(0, 1), (1, 2), (2, 3)]);
        assert_eq!(
            counts(&r, 4),
            [
                (3, true, 0, true),
                (2, true, 1, true),
                (1, true, 2, true),
                (0, true, 3, true)
            ]
        );
        // A tree toward a root (reports_to): 1, 2 -> 0; 3, 4 -> 1.
        let r = index(5, &[(1, 0), (2, 0), (3, 1), (4, 1)]);
        let c = counts(&r, 5);
        assert!(c.iter().all(|&(_, f, _, b)| f && b), "{c:?}");
        assert_eq!(c[0], (0, true, 4, true));
        assert_eq!(c[3], (2, true, 0, true));
        // A cycle 0 <-> 1 on top of a chain 1 -> 2 -> 3.
        let r = index(4, &[(0, 1), (1, 0), (1, 2), (2, 3)]);
        let c = counts(&r, 4);
        assert_eq!(c[0], (4, true, 2, true));
        assert_eq!(c[3], (0, true, 3, true));
        // A diamond: 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4. From 0 the sizes would count 3 twice.
        let r = index(5, &[(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]);
        let c = counts(&r, 5);
        assert_eq!(c[0], (4, false, 0, true));
        assert_eq!(c[1], (2, true, 1, true));
        assert_eq!(c[4], (0, true, 4, false));
        // Counted twice, the walk's answer is memoized and still not `direct`.
        assert_eq!(
            r.closure_count(false, 0),
            ClosureCount {
                count: 4,
                direct: false
            }
        );
    }

    /// Issue 7.7: the sizes of all 40,000 closures of a chain come from the table, in linear
    /// time, without materializing any closure.
    #[test]
    fn closure_sizes_of_a_long_chain_need_no_closure() {
        let n = 40_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let r = index(n as usize, &edges);
        let mut total = 0usize;
        for x in 0..n {
            let c = r.closure_count(false, x);
            assert!(c.direct);
            total += c.count;
        }
        assert_eq!(total, (n as usize - 1) * n as usize / 2);
        let Some(condensed) = &r.condensed else {
            panic!("a relation on one type is condensed");
        };
        assert_eq!(condensed.memoized.load(Ordering::Relaxed), 0);
    }

    /// A fill computes every closure of a direction, each the same as a walk from scratch, and
    /// leaves the other direction alone.
    #[test]
    fn a_fill_computes_every_closure_of_its_direction() {
        // Two cycles joined by a diamond, and nodes that reach nothing.
        let edges = [
            (0, 1),
            (1, 0),
            (1, 2),
            (1, 3),
            (2, 4),
            (3, 4),
            (4, 5),
            (5, 4),
            (6, 6),
        ];
        let filled = index(9, &edges);
        let fresh = index(9, &edges);
        let Some(condensed) = &filled.condensed else {
            panic!("a relation on one type is condensed");
        };
        for inverse in [false, true] {
            let n = condensed.memo(inverse).len();
            assert_eq!(filled.fill_closures(inverse), n);
            assert!(condensed.memo(inverse).iter().all(|c| c.get().is_some()));
            if !inverse {
                // Not yet filled: the backward closures are untouched.
                assert!(condensed.memo(true).iter().all(|c| c.get().is_none()));
            }
            for x in 0..9 {
                assert_eq!(filled.closure(inverse, x), fresh.closure(inverse, x), "{x}");
            }
            // Filled again, nothing is left to compute.
            assert_eq!(filled.fill_closures(inverse), 0);
        }
        assert_eq!(&*filled.closure(false, 2), &[4, 5]);
        assert_eq!(&*filled.closure(true, 4), &[0, 1, 2, 3, 4, 5]);
        assert!(filled.closure(false, 7).is_empty());
        // A relation between two types keeps nothing.
        let between = RelationIndex::new(3, 3, false, vec![(0, 1), (1, 2)]);
        assert_eq!(between.fill_closures(false), 0);
    }

    #[test]
    fn unions_of_sorted_lists_are_sorted_and_distinct() {
        assert_eq!(
            union_sorted(&[1, 4, 9], &[2, 4, 10, 11]),
            [1, 2, 4, 9, 10, 11]
        );
        assert_eq!(union_sorted(&[], &[3]), [3]);
        assert_eq!(union_sorted(&[3], &[]), [3]);
        assert_eq!(union_sorted(&[5, 6], &[5, 6]), [5, 6]);
        assert!(union_sorted(&[], &[]).is_empty());
    }

    /// A fill stops at the memo's cap (counting each closure's allocation) and leaves the rest
    /// to be computed on use, still right.
    #[test]
    fn a_fill_stops_at_the_cap() {
        let n = 6_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let r = index(n as usize, &edges);
        let Some(condensed) = &r.condensed else {
            panic!("a relation on one type is condensed");
        };
        // The chain's closures would hold 18 million indices: the fill stops part way.
        let computed = r.fill_closures(false);
        assert!(computed > 1_000 && computed < n as usize, "{computed}");
        let kept = condensed.memoized.load(Ordering::Relaxed);
        assert!(kept <= MEMO_CAP, "{kept}");
        assert_eq!(&*r.closure(false, 0), (1..n).collect::<Vec<_>>().as_slice());
        assert_eq!(r.closure(false, n - 3).len(), 2);
    }

    /// Past the cap, closures are still right but no longer kept.
    #[test]
    fn the_closure_memo_is_capped() {
        let n = 6_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let r = index(n as usize, &edges);
        let Some(condensed) = &r.condensed else {
            panic!("a relation on one type is condensed");
        };
        // The closures of the first 5,000 nodes hold about 17 million indices (computed from
        // the end of the chain, so that each reuses the next one's).
        for x in (0..5_000).rev() {
            assert_eq!(r.closure(false, x).len(), (n - 1 - x) as usize);
        }
        let kept = condensed.memoized.load(Ordering::Relaxed);
        assert!(kept <= MEMO_CAP, "{kept}");
        assert!(kept > MEMO_CAP / 2, "{kept}");
        assert_eq!(&*r.closure(false, 0), (1..n).collect::<Vec<_>>().as_slice());
    }
}
