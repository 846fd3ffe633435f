//! The native explorer: breadth-first search over the explicit states of a
//! [`wqcheck_model::Model`], so that every counterexample is a shortest one and every
//! exhaustive run knows exactly how many distinct states exist.
//!
//! Storage is what makes it scale. A state is a shared part plus one part per thread; the
//! thread parts repeat across states far more than whole states do, so each distinct thread
//! part is stored once (`Interner`) and a visited state is the shared bytes followed by
//! its thread parts' numbers (2 bytes each, 4 when a run needs more than 65,535 distinct
//! thread parts). Visited states live in fixed-size chunks (no reallocation copies) and are
//! numbered in BFS order, so the frontier is simply "the states not expanded yet", and a
//! state's BFS parent is one `u32`. Speed comes from the step cache (`StepCache`), which
//! answers most steps without running the interpreter, and from expanding states in
//! batches so that their cache misses overlap (see ARCHITECTURE.md).
//!
//! Architecture invariant: the explorer knows nothing of the DSL or of any builtin; it only
//! calls [`Model::step`], [`Model::classify_stuck`], [`Model::initial_state`] and the
//! read-only helpers `surely_blocked_part` and `actor_choices`.

use hashbrown::HashTable;
use std::hash::Hasher;
use std::time::{Duration, Instant};
use wqcheck_model::compile::PC_DONE;
use wqcheck_model::interp::Mover;
use wqcheck_model::{Model, StepResult, Verdict, Violation};

/// Bounds and hooks for one search.
pub struct Options<'a> {
    /// Stop with `Inconclusive` once this many distinct states are stored.
    pub max_states: Option<u64>,
    /// Stop with `Inconclusive` after this long.
    pub max_time: Option<Duration>,
    /// Called about once a second with the search's progress.
    pub progress: Option<&'a dyn Fn(&Progress)>,
    /// Explore every reachable state even after a violation (like SPIN's `pan -c0`), so
    /// that `states` counts them all; the violation reported is still the first (shortest)
    /// one found.
    pub full: bool,
    /// Entries of the step cache (0: off). See [`DEFAULT_STEP_CACHE`].
    pub step_cache: usize,
}

/// The step cache's default size: 2^22 entries of 32 bytes (at most 2^23 slots, 256 MiB,
/// plus the numbered views). The cache only speeds the search up; it never changes the
/// result.
pub const DEFAULT_STEP_CACHE: usize = 1 << 22;

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            max_states: None,
            max_time: None,
            progress: None,
            full: false,
            step_cache: DEFAULT_STEP_CACHE,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Progress {
    pub states: u64,
    pub depth: u32,
    pub elapsed: Duration,
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Distinct states stored.
    pub states: u64,
    /// Transitions taken (successors generated, including already-seen ones).
    pub transitions: u64,
    /// BFS depth reached (the counterexample's length for a violation).
    pub depth: u32,
    pub elapsed: Duration,
    /// For a violation: what it is.
    pub violation: Option<Violation>,
    /// For a violation: the moves from the initial state (a shortest path).
    pub path: Vec<Mover>,
    /// For `Inconclusive`: which bound ran out.
    pub budget_hit: Option<String>,
    /// Bytes held by the state store at the end (keys, parents, interned thread parts and
    /// the hash tables), an estimate of the search's memory.
    pub store_bytes: u64,
}

const CHUNK_KEYS: usize = 1 << 18;

/// A zeroed array in anonymous memory for which the kernel is asked to use huge pages.
///
/// Why: the visited table, the stored keys and the step cache are read at random, and over
/// hundreds of megabytes with 4 KiB pages almost every such read also misses the TLB.
/// Anonymous memory is also committed only when touched, so a chunk that is only partly
/// used costs only what is used. Small arrays, and systems where mapping fails, use a `Vec`.
enum Mem<T: bytemuck::Pod> {
    Map(memmap2::MmapMut, std::marker::PhantomData<T>),
    Heap(Vec<T>),
}

impl<T: bytemuck::Pod> Mem<T> {
    fn zeroed(n: usize) -> Mem<T> {
        let bytes = n * std::mem::size_of::<T>();
        if bytes >= 1 << 21 {
            if let Ok(m) = memmap2::MmapMut::map_anon(bytes) {
                #[cfg(target_os = "linux")]
                let _ = m.advise(memmap2::Advice::HugePage);
                return Mem::Map(m, std::marker::PhantomData);
            }
        }
        Mem::Heap(vec![T::zeroed(); n])
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for Mem<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            // A mapping is page-aligned, so the cast cannot fail.
            Mem::Map(m, _) => bytemuck::cast_slice(&m[..]),
            Mem::Heap(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> std::ops::DerefMut for Mem<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Mem::Map(m, _) => bytemuck::cast_slice_mut(&mut m[..]),
            Mem::Heap(v) => v,
        }
    }
}

/// Distinct thread parts, stored once each.
struct Interner {
    len: usize,
    data: Vec<u8>,
    table: HashTable<u32>,
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(b);
    // A finalizer, so that every bit of the result depends on every input byte.
    let mut x = h.finish();
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

impl Interner {
    fn new(len: usize) -> Interner {
        Interner {
            len,
            data: Vec::new(),
            table: HashTable::new(),
        }
    }

    fn count(&self) -> usize {
        self.data.len() / self.len.max(1)
    }

    fn get(&self, id: u32) -> &[u8] {
        let o = id as usize * self.len;
        &self.data[o..o + self.len]
    }

    fn intern(&mut self, part: &[u8]) -> u32 {
        let h = hash_bytes(part);
        let (len, data) = (self.len, &self.data);
        if let Some(&id) = self.table.find(h, |&id| {
            let o = id as usize * len;
            &data[o..o + len] == part
        }) {
            return id;
        }
        let id = self.count() as u32;
        self.data.extend_from_slice(part);
        let (len, data) = (self.len, &self.data);
        self.table.insert_unique(h, id, |&id| {
            let o = id as usize * len;
            hash_bytes(&data[o..o + len])
        });
        id
    }

    fn bytes(&self) -> u64 {
        (self.data.capacity() + self.table.capacity() * 5) as u64
    }
}

/// Fixed-size records in chunks (no reallocation copies), found by a key prefix through an
/// open-addressing table of `(hash tag, record number)` words.
///
/// Why not a general hash map: at tens of millions of records every lookup is a cache miss,
/// and a map that keeps control bytes and entries apart pays two. Here one probe reads one
/// 8-byte word holding both a 32-bit hash tag and the record number; the record itself is
/// read only when the tags agree, which is almost always a true match. Growing the table
/// rehashes from the tags alone, never from the records.
struct Records {
    key_len: usize,
    rec_len: usize,
    len: usize,
    chunks: Vec<Mem<u8>>,
    /// `tag << 32 | (record + 1)`; 0 is an empty slot. Linear probing, power-of-two size.
    table: Mem<u64>,
}

/// Grow a table beyond this fill (in 1/16ths).
const MAX_FILL_16THS: usize = 13;

impl Records {
    fn new(key_len: usize, rec_len: usize) -> Records {
        Records {
            key_len,
            rec_len,
            len: 0,
            chunks: Vec::new(),
            table: Mem::zeroed(1 << 12),
        }
    }

    fn get(&self, i: usize) -> &[u8] {
        let o = (i % CHUNK_KEYS) * self.rec_len;
        &self.chunks[i / CHUNK_KEYS][o..o + self.rec_len]
    }

    #[inline]
    fn slot_of(tag: u32, mask: usize) -> usize {
        ((tag as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// The table word a key's probe starts at, read only to bring its cache line in early:
    /// reading the start slots of several keys in a row lets their cache misses overlap.
    #[inline]
    fn touch(&self, tag: u32) -> u64 {
        let table: &[u64] = &self.table;
        table[Self::slot_of(tag, table.len() - 1)]
    }

    /// `Ok(record)` if a record with this key exists, else `Err(free table slot)`.
    fn find(&self, key: &[u8], tag: u32) -> Result<usize, usize> {
        let table: &[u64] = &self.table;
        let mask = table.len() - 1;
        let mut i = Self::slot_of(tag, mask);
        loop {
            let w = table[i];
            if w == 0 {
                return Err(i);
            }
            if (w >> 32) as u32 == tag {
                let r = (w as u32 - 1) as usize;
                if same_bytes(&self.get(r)[..self.key_len], key) {
                    return Ok(r);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Append `rec` (whose key is not present) at free table slot `slot`; its number.
    fn add(&mut self, slot: usize, tag: u32, rec: &[u8]) -> usize {
        let n = self.len;
        if n.is_multiple_of(CHUNK_KEYS) {
            self.chunks.push(Mem::zeroed(CHUNK_KEYS * self.rec_len));
        }
        let o = (n % CHUNK_KEYS) * self.rec_len;
        if let Some(c) = self.chunks.last_mut() {
            c[o..o + self.rec_len].copy_from_slice(rec);
        }
        self.len += 1;
        self.table[slot] = ((tag as u64) << 32) | (n as u64 + 1);
        if (n + 1) * 16 > self.table.len() * MAX_FILL_16THS {
            self.grow();
        }
        n
    }

    fn grow(&mut self) {
        let mut fresh = Mem::<u64>::zeroed(self.table.len() * 2);
        let table: &mut [u64] = &mut fresh;
        let mask = table.len() - 1;
        for &w in self.table.iter().filter(|&&w| w != 0) {
            let mut i = Self::slot_of((w >> 32) as u32, mask);
            while table[i] != 0 {
                i = (i + 1) & mask;
            }
            table[i] = w;
        }
        self.table = fresh;
    }

    fn bytes(&self) -> u64 {
        (self.chunks.len() * CHUNK_KEYS * self.rec_len + self.table.len() * 8) as u64
    }
}

/// Visited states in BFS order, each with its BFS parent and (for the step cache) the
/// number of its view.
struct Visited {
    keys: Records,
    parents: Vec<u32>,
    views: Vec<u32>,
}

impl Visited {
    fn new(key_len: usize) -> Visited {
        Visited {
            keys: Records::new(key_len, key_len),
            parents: Vec::new(),
            views: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.parents.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        self.keys.get(i)
    }

    fn touch(&self, tag: u32) -> u64 {
        self.keys.touch(tag)
    }

    fn contains(&self, key: &[u8], tag: u32) -> bool {
        self.keys.find(key, tag).is_ok()
    }

    /// Insert a key with its tag (`hash_tag(key)`) and view number; true if it was new.
    fn insert(&mut self, key: &[u8], tag: u32, parent: u32, view: u32) -> bool {
        match self.keys.find(key, tag) {
            Ok(_) => false,
            Err(slot) => {
                self.keys.add(slot, tag, key);
                self.parents.push(parent);
                self.views.push(view);
                true
            }
        }
    }

    fn bytes(&self) -> u64 {
        self.keys.bytes() + (self.parents.capacity() + self.views.capacity()) as u64 * 4
    }
}

/// What a thread's step did, remembered by what the step can see.
///
/// A step of thread `t` reads and writes only `t`'s own part, the shared part and the
/// other threads' `foreign` bytes (task state, signal, entries): the architecture invariant
/// of `wqcheck_model::state`. Call the shared part and every thread's foreign bytes the
/// state's *view*. A step is then a function of `(t, t's part, view)`, and the same
/// arguments recur across many states that differ only in other threads' program counters
/// and locals (in the page-lock models, 98% of steps). Views are numbered like thread
/// parts, so an entry is `(t, part, view) -> (blocked | t's new part, new view)`, 18 bytes;
/// a hit replaces a run of the interpreter with a lookup. Faults are never cached (the step
/// is run again to report them). The cache stops growing at a fixed number of entries,
/// which bounds its memory; it only speeds the search up, and the states found are the
/// same with or without it.
struct StepCache {
    /// Open addressing; a slot holds a whole entry: `[t + 1 | moved << 8 | changed << 16,
    /// part, view, new part, new view, new shared part, 0, 0]`, 0 in the first word =
    /// empty (32 bytes, so that a slot never straddles a cache line).
    /// `changed` has bit u set when thread u's foreign bytes changed (u != t); the new
    /// shared part is kept when it is at most 4 bytes. An entry's home slot depends mostly
    /// on its view, so the steps of one state (which share the view) are looked up in a few
    /// adjacent cache lines, and most hits need nothing else to build the successor.
    slots: Mem<[u32; 8]>,
    len: usize,
    views: Records,
    limit: usize,
    shared_len: usize,
    foreign: std::ops::Range<usize>,
}

/// A step's key in the cache: (thread, its part number, the view number), or for an actor
/// (`0x80 | actor`, its choice, the view number): an actor's move depends on the view only.
type StepKey = (u8, u32, u32);

/// What the cache says about a step.
enum Cached {
    Unknown,
    Blocked,
    Moved(Step),
}

/// A cached successor.
#[derive(Clone, Copy)]
struct Step {
    /// The moving thread's new part number.
    part: u32,
    /// The new view's number.
    view: u32,
    /// Threads (other than the mover) whose foreign bytes changed.
    changed: u16,
    /// The new shared part, when it fits 4 bytes.
    shared: u32,
}

impl StepCache {
    fn new(model: &Model, limit: usize) -> StepCache {
        let l = &model.layout;
        let foreign = l.foreign();
        let view_len = l.shared_len + l.nthreads * foreign.len();
        StepCache {
            slots: Mem::zeroed(1 << 12),
            len: 0,
            views: Records::new(view_len, view_len),
            limit,
            shared_len: l.shared_len,
            foreign,
        }
    }

    /// Write the view of `s` into `out`.
    fn view_of(&self, model: &Model, s: &[u8], out: &mut Vec<u8>) {
        let l = &model.layout;
        out.clear();
        out.extend_from_slice(&s[..self.shared_len]);
        for u in 0..l.nthreads {
            let o = l.thread_off(u);
            out.extend_from_slice(&s[o + self.foreign.start..o + self.foreign.end]);
        }
    }

    /// The number of a view (numbering it if it is new).
    fn view_id(&mut self, view: &[u8], tag: u32) -> u32 {
        match self.views.find(view, tag) {
            Ok(r) => r as u32,
            Err(slot) => self.views.add(slot, tag, view) as u32,
        }
    }

    fn view(&self, id: u32) -> &[u8] {
        self.views.get(id as usize)
    }

    #[inline]
    fn home(key: StepKey, mask: usize) -> usize {
        let (t, part, view) = key;
        let v = (view as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
        let w = ((part as u64) << 8 | t as u64).wrapping_mul(0xff51_afd7_ed55_8ccd) >> 57;
        (v as usize).wrapping_add(w as usize) & mask
    }

    /// The first slot of a key's probe, read early so that its cache miss overlaps others.
    #[inline]
    fn touch(&self, key: StepKey) -> u32 {
        let slots: &[[u32; 8]] = &self.slots;
        slots[Self::home(key, slots.len() - 1)][0]
    }

    /// `Ok(slot)` holding the key, or `Err(free slot)`.
    fn find(&self, key: StepKey) -> Result<usize, usize> {
        let slots: &[[u32; 8]] = &self.slots;
        let mask = slots.len() - 1;
        let mut i = Self::home(key, mask);
        let first = key.0 as u32 + 1;
        loop {
            let e = &slots[i];
            if e[0] == 0 {
                return Err(i);
            }
            if e[0] & 0xff == first && e[1] == key.1 && e[2] == key.2 {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    fn lookup(&self, key: StepKey) -> Cached {
        match self.find(key) {
            Err(_) => Cached::Unknown,
            Ok(i) => {
                let e = &self.slots[i];
                if e[0] & 0x100 == 0 {
                    Cached::Blocked
                } else {
                    Cached::Moved(Step {
                        part: e[3],
                        view: e[4],
                        changed: (e[0] >> 16) as u16,
                        shared: e[5],
                    })
                }
            }
        }
    }

    /// Describe the step from `cur` to `next` by thread `t` (None: an actor), whose new
    /// part is `part` and new view `view`.
    fn step_of(
        &self,
        model: &Model,
        cur: &[u8],
        next: &[u8],
        t: Option<usize>,
        part: u32,
        view: u32,
    ) -> Step {
        let l = &model.layout;
        let mut changed = 0u16;
        for u in (0..l.nthreads).filter(|&u| Some(u) != t) {
            let o = l.thread_off(u);
            let r = o + self.foreign.start..o + self.foreign.end;
            if !same_bytes(&cur[r.clone()], &next[r]) {
                changed |= 1 << u;
            }
        }
        let mut shared = [0u8; 4];
        if self.shared_len <= 4 {
            shared[..self.shared_len].copy_from_slice(&next[..self.shared_len]);
        }
        Step {
            part,
            view,
            changed,
            shared: u32::from_le_bytes(shared),
        }
    }

    /// Remember a step: blocked (`None`) or its successor.
    fn remember(&mut self, key: StepKey, next: Option<Step>) {
        if self.len >= self.limit {
            return;
        }
        let Err(i) = self.find(key) else {
            return;
        };
        let first = key.0 as u32 + 1;
        self.slots[i] = match next {
            Some(st) => [
                first | 0x100 | (st.changed as u32) << 16,
                key.1,
                key.2,
                st.part,
                st.view,
                st.shared,
                0,
                0,
            ],
            None => [first, key.1, key.2, 0, 0, 0, 0, 0],
        };
        self.len += 1;
        if self.len * 8 > self.slots.len() * 5 {
            let fresh = Mem::zeroed(self.slots.len() * 2);
            let old = std::mem::replace(&mut self.slots, fresh);
            let mask = self.slots.len() - 1;
            for &e in old.iter().filter(|e| e[0] != 0) {
                let mut j = Self::home(((e[0] & 0xff) as u8 - 1, e[1], e[2]), mask);
                while self.slots[j][0] != 0 {
                    j = (j + 1) & mask;
                }
                self.slots[j] = e;
            }
        }
    }

    fn bytes(&self) -> u64 {
        (self.slots.len() * 32) as u64 + self.views.bytes()
    }
}

/// The 32-bit tag of a key in the visited table.
#[inline]
fn hash_tag(key: &[u8]) -> u32 {
    (hash_bytes(key) >> 32) as u32
}

/// Equality of two short byte strings, inline (a library `memcmp` call costs more than
/// the comparison for a dozen bytes).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if word64(a, i) != word64(b, i) {
                return false;
            }
            i += 8;
        }
        // The last, possibly overlapping, word covers the tail.
        i == n || word64(a, n - 8) == word64(b, n - 8)
    } else if n >= 4 {
        word32(a, 0) == word32(b, 0) && word32(a, n - 4) == word32(b, n - 4)
    } else {
        a.iter().zip(b).all(|(x, y)| x == y)
    }
}

#[inline(always)]
fn word64(x: &[u8], o: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&x[o..o + 8]);
    u64::from_ne_bytes(w)
}

#[inline(always)]
fn word32(x: &[u8], o: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&x[o..o + 4]);
    u32::from_ne_bytes(w)
}

/// Encodes states to keys and back.
struct Codec<'m> {
    model: &'m Model,
    width: usize,
    interner: Interner,
}

struct Overflow;

impl<'m> Codec<'m> {
    fn key_len(&self) -> usize {
        let l = &self.model.layout;
        l.shared_len + l.nthreads * self.width
    }

    /// Encode `s`, a successor of `parent` (whose part ids are `parent_ids`) by a move of
    /// `mover` (a thread, or None for an actor); a parent id of `u32::MAX` means "no
    /// parent" (the initial state). Only the mover's part can differ from the
    /// parent's outside the `foreign` bytes (see `wqcheck_model::state`), so the other
    /// parts are compared on those bytes only.
    fn encode(
        &mut self,
        s: &[u8],
        parent: &[u8],
        parent_ids: &[u32],
        mover: Option<usize>,
        key: &mut [u8],
    ) -> Result<Option<u32>, Overflow> {
        let l = &self.model.layout;
        let foreign = l.foreign();
        let mut mover_id = None;
        key[..l.shared_len].copy_from_slice(&s[..l.shared_len]);
        for (t, &parent_id) in parent_ids.iter().enumerate().take(l.nthreads) {
            let o = l.thread_off(t);
            let part = &s[o..o + l.thread_len];
            let same = parent_id != u32::MAX
                && mover != Some(t)
                && same_bytes(
                    &part[foreign.clone()],
                    &parent[o + foreign.start..o + foreign.end],
                );
            debug_assert!(!same || part == &parent[o..o + l.thread_len]);
            let id = if same {
                parent_id
            } else {
                self.interner.intern(part)
            };
            if mover == Some(t) {
                mover_id = Some(id);
            }
            self.put_id(key, t, id)?;
        }
        Ok(mover_id)
    }

    /// Write thread `t`'s part number into a key.
    fn put_id(&self, key: &mut [u8], t: usize, id: u32) -> Result<(), Overflow> {
        let k = self.model.layout.shared_len + t * self.width;
        if self.width == 2 {
            let Ok(v) = u16::try_from(id) else {
                return Err(Overflow);
            };
            key[k..k + 2].copy_from_slice(&v.to_le_bytes());
        } else {
            key[k..k + 4].copy_from_slice(&id.to_le_bytes());
        }
        Ok(())
    }

    /// Encode the successor that the step cache describes for thread `t` (None: an actor
    /// moved) of the state whose part numbers are `ids`. Other threads keep their part
    /// unless the step changed their foreign bytes, which are then taken from the new view.
    fn encode_step(
        &mut self,
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
        key: &mut [u8],
        part: &mut [u8],
    ) -> Result<(), Overflow> {
        let l = &self.model.layout;
        let foreign = l.foreign();
        let fl = foreign.len();
        if l.shared_len <= 4 {
            key[..l.shared_len].copy_from_slice(&step.shared.to_le_bytes()[..l.shared_len]);
        } else {
            key[..l.shared_len].copy_from_slice(&cache.view(step.view)[..l.shared_len]);
        }
        for (u, &old) in ids.iter().enumerate().take(l.nthreads) {
            let new_id = if Some(u) == t {
                step.part
            } else if step.changed & (1 << u) == 0 {
                old
            } else {
                let view = cache.view(step.view);
                part.copy_from_slice(self.interner.get(old));
                part[foreign.clone()]
                    .copy_from_slice(&view[l.shared_len + u * fl..l.shared_len + (u + 1) * fl]);
                self.interner.intern(part)
            };
            self.put_id(key, u, new_id)?;
        }
        Ok(())
    }

    /// The thread part numbers of a key.
    fn decode_ids(&self, key: &[u8], ids: &mut [u32]) {
        let l = &self.model.layout;
        for (t, id_out) in ids.iter_mut().enumerate().take(l.nthreads) {
            let k = l.shared_len + t * self.width;
            *id_out = if self.width == 2 {
                u16::from_le_bytes([key[k], key[k + 1]]) as u32
            } else {
                u32::from_le_bytes([key[k], key[k + 1], key[k + 2], key[k + 3]])
            };
        }
    }

    fn decode(&self, key: &[u8], s: &mut [u8], ids: &mut [u32]) {
        let l = &self.model.layout;
        s[..l.shared_len].copy_from_slice(&key[..l.shared_len]);
        for (t, id_out) in ids.iter_mut().enumerate().take(l.nthreads) {
            let k = l.shared_len + t * self.width;
            let id = if self.width == 2 {
                u16::from_le_bytes([key[k], key[k + 1]]) as u32
            } else {
                u32::from_le_bytes([key[k], key[k + 1], key[k + 2], key[k + 3]])
            };
            *id_out = id;
            let o = l.thread_off(t);
            s[o..o + l.thread_len].copy_from_slice(self.interner.get(id));
        }
    }
}

/// Every move possible in a state (threads in order, then actors and their choices).
fn moves(model: &Model, s: &[u8], v: &mut Vec<Mover>) {
    v.clear();
    for t in 0..model.layout.nthreads {
        if !model.layout.done(s, t) {
            v.push(Mover::Thread(t as u8));
        }
    }
    for a in 0..model.layout.nactors {
        for c in 0..model.actor_choices(s, a) {
            v.push(Mover::Actor {
                actor: a as u8,
                choice: c as u8,
            });
        }
    }
}

/// Search `model` breadth-first.
pub fn explore(model: &Model, opts: &Options) -> Outcome {
    match explore_with_width(model, opts, 2) {
        Ok(o) => o,
        Err(Overflow) => match explore_with_width(model, opts, 4) {
            Ok(o) => o,
            Err(Overflow) => unreachable_outcome(),
        },
    }
}

fn unreachable_outcome() -> Outcome {
    Outcome {
        verdict: Verdict::Inconclusive,
        states: 0,
        transitions: 0,
        depth: 0,
        elapsed: Duration::ZERO,
        violation: None,
        path: Vec::new(),
        budget_hit: Some("more than 2^32 distinct thread states".into()),
        store_bytes: 0,
    }
}

/// States expanded together. Expanding a state costs a handful of cache misses (its view,
/// its steps in the step cache, its successors in the visited table); doing each stage for
/// a batch of states before the next stage lets those misses overlap.
const BATCH: usize = 64;

/// One state of a batch being expanded, and what its expansion found.
#[derive(Default)]
struct Expansion {
    state: Vec<u8>,
    ids: Vec<u32>,
    view_id: u32,
    movers: Vec<Mover>,
    /// Per mover: the step-cache key, for threads that are not surely blocked.
    keys: Vec<Option<StepKey>>,
    /// Per mover: a thread that surely cannot move.
    blocked: Vec<bool>,
    /// `state` holds the decoded state (it is decoded only for the interpreter).
    decoded: bool,
    /// Every thread has returned.
    all_done: bool,
    /// Some move is possible.
    any: bool,
    /// Faulting moves, in mover order.
    faults: Vec<(Mover, wqcheck_model::Fault)>,
    /// This state's successors in the batch's successor list.
    succ: std::ops::Range<usize>,
}

fn explore_with_width(model: &Model, opts: &Options, width: usize) -> Result<Outcome, Overflow> {
    let start = Instant::now();
    let l = &model.layout;
    let n = l.state_len();
    let mut codec = Codec {
        model,
        width,
        interner: Interner::new(l.thread_len),
    };
    let key_len = codec.key_len();
    let mut visited = Visited::new(key_len);
    let mut outcome = Outcome {
        verdict: Verdict::Holds,
        states: 0,
        transitions: 0,
        depth: 0,
        elapsed: Duration::ZERO,
        violation: None,
        path: Vec::new(),
        budget_hit: None,
        store_bytes: 0,
    };
    let init = match model.initial_state() {
        Ok(s) => s,
        Err(f) => {
            outcome.verdict = Verdict::AssertionFailed;
            outcome.violation = Some(Violation {
                verdict: Verdict::AssertionFailed,
                message: f.message,
                span: Some(f.span),
            });
            outcome.elapsed = start.elapsed();
            return Ok(outcome);
        }
    };
    let mut key = vec![0u8; key_len];
    let zero_ids = vec![u32::MAX; l.nthreads];
    let blank = vec![0xAAu8; n];
    codec.encode(&init, &blank, &zero_ids, None, &mut key)?;
    let mut view = Vec::new();
    let mut cache = (opts.step_cache > 0).then(|| StepCache::new(model, opts.step_cache));
    let init_view = match cache.as_mut() {
        Some(c) => {
            c.view_of(model, &init, &mut view);
            c.view_id(&view, hash_tag(&view))
        }
        None => 0,
    };
    visited.insert(&key, hash_tag(&key), u32::MAX, init_view);

    let mut next = vec![0u8; n];
    let mut part = vec![0u8; l.thread_len];
    let mut succ_views: Vec<u32> = Vec::new();
    let mut seen: Vec<bool> = Vec::new();
    let mut batch: Vec<Expansion> = (0..BATCH).map(|_| Expansion::default()).collect();
    let mut succ: Vec<u8> = Vec::new();
    let mut tags: Vec<u32> = Vec::new();
    let mut idx = 0usize;
    let mut level_end = 1usize;
    let mut depth = 0u32;
    let mut last_progress = Instant::now();
    let finish = |mut o: Outcome,
                  visited: &Visited,
                  codec: &Codec,
                  cache: &Option<StepCache>,
                  depth: u32|
     -> Outcome {
        o.states = visited.len() as u64;
        o.depth = depth;
        o.elapsed = start.elapsed();
        o.store_bytes = visited.bytes()
            + codec.interner.bytes()
            + cache.as_ref().map(|c| c.bytes()).unwrap_or(0);
        o
    };
    while idx < visited.len() {
        if let Some(max) = opts.max_time {
            if start.elapsed() >= max {
                if outcome.violation.is_none() {
                    outcome.verdict = Verdict::Inconclusive;
                }
                outcome.budget_hit = Some(format!("time limit of {} s", max.as_secs()));
                return Ok(finish(outcome, &visited, &codec, &cache, depth));
            }
        }
        if let Some(p) = opts.progress {
            if last_progress.elapsed() >= Duration::from_secs(1) {
                last_progress = Instant::now();
                p(&Progress {
                    states: visited.len() as u64,
                    depth,
                    elapsed: start.elapsed(),
                });
            }
        }
        let count = BATCH.min(visited.len() - idx);
        let batch = &mut batch[..count];
        // 1. Read each state's part numbers and moves. The thread parts are read where the
        // interner keeps them; a whole state is put together only for the interpreter.
        for (b, e) in batch.iter_mut().enumerate() {
            let k = visited.key(idx + b);
            e.ids.resize(l.nthreads, 0);
            codec.decode_ids(k, &mut e.ids);
            e.decoded = false;
            e.any = false;
            e.faults.clear();
            e.view_id = visited.views[idx + b];
            e.movers.clear();
            e.blocked.clear();
            e.all_done = true;
            let shared = &k[..l.shared_len];
            for t in 0..l.nthreads {
                let part = codec.interner.get(e.ids[t]);
                if l.part_pc(part) != PC_DONE {
                    e.all_done = false;
                    e.movers.push(Mover::Thread(t as u8));
                    e.blocked.push(model.surely_blocked_part(shared, part));
                }
            }
            for a in 0..l.nactors {
                for c in 0..model.actor_choices(shared, a) {
                    e.movers.push(Mover::Actor {
                        actor: a as u8,
                        choice: c as u8,
                    });
                    e.blocked.push(false);
                }
            }
        }
        // 2. Make the step-cache keys.
        if let Some(c) = cache.as_mut() {
            // The touched words are folded together and kept once at the end: a store per
            // touch would wait for its load and fill the store buffer.
            let mut touched = 0u32;
            for e in batch.iter_mut() {
                e.keys.clear();
                for (&m, &blocked) in e.movers.iter().zip(&e.blocked) {
                    let k = match m {
                        Mover::Thread(_) if blocked => None,
                        Mover::Thread(t) => Some((t, e.ids[t as usize], e.view_id)),
                        Mover::Actor { actor, choice } => {
                            Some((0x80 | actor, choice as u32, e.view_id))
                        }
                    };
                    if let Some(k) = k {
                        touched ^= c.touch(k);
                    }
                    e.keys.push(k);
                }
            }
            std::hint::black_box(touched);
        } else {
            for e in batch.iter_mut() {
                e.keys.clear();
                e.keys.resize(e.movers.len(), None);
            }
        }
        // 3. Every state's successors, from the cache or the interpreter.
        succ.clear();
        tags.clear();
        succ_views.clear();
        for (b, e) in batch.iter_mut().enumerate() {
            let first = tags.len();
            for (mi, &m) in e.movers.iter().enumerate() {
                let thread = match m {
                    Mover::Thread(t) => Some(t as usize),
                    Mover::Actor { .. } => None,
                };
                if e.blocked[mi] {
                    continue;
                }
                let cached = e.keys[mi];
                if let (Some(c), Some(k)) = (cache.as_ref(), cached) {
                    match c.lookup(k) {
                        Cached::Blocked => continue,
                        Cached::Moved(step) => {
                            e.any = true;
                            outcome.transitions += 1;
                            codec.encode_step(&e.ids, thread, step, c, &mut key, &mut part)?;
                            succ.extend_from_slice(&key);
                            tags.push(hash_tag(&key));
                            succ_views.push(step.view);
                            continue;
                        }
                        Cached::Unknown => {}
                    }
                }
                if !e.decoded {
                    e.state.resize(n, 0);
                    codec.decode(visited.key(idx + b), &mut e.state, &mut e.ids);
                    e.decoded = true;
                }
                next.copy_from_slice(&e.state);
                match model.step(&mut next, m, None) {
                    StepResult::Blocked => {
                        if let (Some(c), Some(k)) = (cache.as_mut(), cached) {
                            c.remember(k, None);
                        }
                    }
                    StepResult::Fault(f) => {
                        e.any = true;
                        outcome.transitions += 1;
                        e.faults.push((m, f));
                    }
                    StepResult::Moved => {
                        e.any = true;
                        outcome.transitions += 1;
                        let id = codec.encode(&next, &e.state, &e.ids, thread, &mut key)?;
                        let mut vid = 0;
                        if let Some(c) = cache.as_mut() {
                            c.view_of(model, &next, &mut view);
                            vid = c.view_id(&view, hash_tag(&view));
                            if let Some(k) = cached {
                                let step =
                                    c.step_of(model, &e.state, &next, thread, id.unwrap_or(0), vid);
                                c.remember(k, Some(step));
                            }
                        }
                        succ.extend_from_slice(&key);
                        tags.push(hash_tag(&key));
                        succ_views.push(vid);
                    }
                }
            }
            e.succ = first..tags.len();
        }
        // 4. Bring every successor's table slot in at once, then find the successors that
        // are already visited: they stay visited, so step 5 need not look them up again.
        let touched = tags.iter().fold(0u64, |a, &t| a ^ visited.touch(t));
        std::hint::black_box(touched);
        seen.clear();
        for (j, &tag) in tags.iter().enumerate() {
            seen.push(visited.contains(&succ[j * key_len..(j + 1) * key_len], tag));
        }
        // 5. In BFS order: report, insert, check the budget and stuck states.
        for (b, e) in batch.iter().enumerate() {
            let i = idx + b;
            if i == level_end {
                depth += 1;
                level_end = visited.len();
            }
            for (m, f) in &e.faults {
                if outcome.violation.is_some() {
                    break;
                }
                let mut path = path_to(model, &codec, &visited, i)?;
                path.push(*m);
                outcome.verdict = Verdict::AssertionFailed;
                outcome.violation = Some(Violation {
                    verdict: Verdict::AssertionFailed,
                    message: f.message.clone(),
                    span: Some(f.span),
                });
                outcome.path = path;
                if !opts.full {
                    return Ok(finish(outcome, &visited, &codec, &cache, depth + 1));
                }
            }
            for j in e.succ.clone().filter(|&j| !seen[j]) {
                let k = &succ[j * key_len..(j + 1) * key_len];
                if visited.insert(k, tags[j], i as u32, succ_views[j]) {
                    if let Some(max) = opts.max_states {
                        if visited.len() as u64 >= max {
                            if outcome.violation.is_none() {
                                outcome.verdict = Verdict::Inconclusive;
                            }
                            outcome.budget_hit =
                                Some(format!("state limit of {max} distinct states"));
                            return Ok(finish(outcome, &visited, &codec, &cache, depth));
                        }
                    }
                }
            }
            if !e.any && !e.all_done && outcome.violation.is_none() {
                let mut state = vec![0u8; n];
                let mut ids = vec![0u32; l.nthreads];
                codec.decode(visited.key(i), &mut state, &mut ids);
                let v = model.classify_stuck(&state);
                outcome.verdict = v.verdict;
                outcome.violation = Some(v);
                outcome.path = path_to(model, &codec, &visited, i)?;
                if !opts.full {
                    return Ok(finish(outcome, &visited, &codec, &cache, depth));
                }
            }
        }
        idx += count;
    }
    Ok(finish(outcome, &visited, &codec, &cache, depth))
}

/// The moves from the initial state to state `idx`, following BFS parents and finding, for
/// each parent, the move that produces the child.
fn path_to(
    model: &Model,
    codec: &Codec,
    visited: &Visited,
    idx: usize,
) -> Result<Vec<Mover>, Overflow> {
    let mut chain = vec![idx];
    let mut i = idx;
    while visited.parents[i] != u32::MAX {
        i = visited.parents[i] as usize;
        chain.push(i);
    }
    chain.reverse();
    let l = &model.layout;
    let n = l.state_len();
    let mut cur = vec![0u8; n];
    let mut next = vec![0u8; n];
    let mut ids = vec![0u32; l.nthreads];
    // Compare decoded states (encoding could add thread parts to the interner).
    let mut target = vec![0u8; n];
    let mut tids = vec![0u32; l.nthreads];
    let mut path = Vec::with_capacity(chain.len());
    for w in chain.windows(2) {
        codec.decode(visited.key(w[0]), &mut cur, &mut ids);
        codec.decode(visited.key(w[1]), &mut target, &mut tids);
        let mut found = None;
        let mut movers = Vec::new();
        moves(model, &cur, &mut movers);
        for &m in &movers {
            next.copy_from_slice(&cur);
            if model.step(&mut next, m, None) == StepResult::Moved && next == target {
                found = Some(m);
                break;
            }
        }
        match found {
            Some(m) => path.push(m),
            None => return Ok(path),
        }
    }
    Ok(path)
}
