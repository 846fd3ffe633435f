//! The native explorer: breadth-first search over the explicit states of a
//! [`wqcheck_model::Model`], so that every counterexample is a shortest one and every
//! exhaustive run knows exactly how many distinct states exist.
//!
//! Storage is what makes it scale. A state is a shared part plus one part per thread; the
//! thread parts repeat across states far more than whole states do, so each distinct thread
//! part is stored once (`Interner`) and a visited state's key is its thread parts' numbers
//! (2 bytes each, 4 when a run needs more than 65,535 distinct thread parts) followed by
//! the shared bytes, packed into 64-bit words. The keys live in the visited table itself
//! (`Seen`), so that recognising a state seen before costs one cache line. States are
//! numbered in BFS order: each one's BFS parent and the place of the move that reached it
//! are kept (`Parents`), so a path is rebuilt by replaying moves, and the states not
//! expanded yet are a FIFO of keys (`Frontier`) whose chunks are freed once expanded.
//! Speed comes from the step cache (`StepCache`), which answers most steps without running
//! the interpreter, from small memos around it (`Recolor`, `Blocked`), and from expanding
//! states in batches so that their cache misses overlap (see ARCHITECTURE.md).
//!
//! Architecture invariant: the explorer knows nothing of the DSL or of any builtin; it only
//! calls [`Model::step`], [`Model::classify_stuck`], [`Model::initial_state`] and the
//! read-only helpers `surely_blocked_part` and `actor_choices`.

use hashbrown::HashTable;
use std::hash::Hasher;
use std::time::{Duration, Instant};
use wqcheck_model::compile::PC_DONE;
use wqcheck_model::interp::Mover;
use wqcheck_model::state::Layout;
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
/// Why: the visited table and the step cache are read at random, and over
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
/// Distinct thread parts, stored once each, with whether the thread has returned.
struct Interner<'m> {
    layout: &'m Layout,
    len: usize,
    data: Vec<u8>,
    table: HashTable<u32>,
    /// Per part: its pc is `PC_DONE`.
    done: Vec<bool>,
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

impl<'m> Interner<'m> {
    fn new(layout: &'m Layout) -> Interner<'m> {
        Interner {
            layout,
            len: layout.thread_len,
            data: Vec::new(),
            table: HashTable::new(),
            done: Vec::new(),
        }
    }

    fn count(&self) -> usize {
        self.done.len()
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
        self.done.push(self.layout.part_pc(part) == PC_DONE);
        let (len, data) = (self.len, &self.data);
        self.table.insert_unique(h, id, |&id| {
            let o = id as usize * len;
            hash_bytes(&data[o..o + len])
        });
        id
    }

    fn bytes(&self) -> u64 {
        (self.data.capacity() + self.table.capacity() * 5 + self.done.capacity()) as u64
    }
}

/// `Model::surely_blocked_part`, remembered by (part number, shared part) when the shared
/// part is at most 4 bytes: a state's threads are checked on every expansion, and there are
/// few distinct pairs.
struct Blocked {
    /// `[part + 1, shared, answer]`; `part + 1 == 0` is an empty slot.
    slots: Vec<[u32; 3]>,
    on: bool,
}

const BLOCKED_BITS: u32 = 12;

impl Blocked {
    fn new(shared_len: usize) -> Blocked {
        let on = shared_len <= 4;
        Blocked {
            slots: vec![[0; 3]; if on { 1 << BLOCKED_BITS } else { 0 }],
            on,
        }
    }

    /// The shared part as a number, for `get`.
    fn key(&self, shared: &[u8]) -> u32 {
        if !self.on {
            return 0;
        }
        shared
            .iter()
            .enumerate()
            .fold(0, |a, (j, &x)| a | (x as u32) << (8 * j))
    }

    /// Whether the thread with part `id` surely cannot move; `sh` is `key(shared)`.
    #[inline]
    fn get(&mut self, model: &Model, interner: &Interner, id: u32, shared: &[u8], sh: u32) -> bool {
        if !self.on {
            return model.surely_blocked_part(shared, interner.get(id));
        }
        let x = (id as u64) << 32 | sh as u64;
        let i = (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BLOCKED_BITS)) as usize;
        let e = &mut self.slots[i];
        if e[0] == id.wrapping_add(1) && e[1] == sh {
            return e[2] != 0;
        }
        let r = model.surely_blocked_part(shared, interner.get(id));
        *e = [id.wrapping_add(1), sh, r as u32];
        r
    }
}

/// Thread parts with other foreign bytes: `(part, foreign)` -> the part `part` becomes when
/// its foreign bytes are replaced by those numbered `foreign` (`StepCache::fid`). A step of another thread
/// changes a thread's foreign bytes (a wakeup, a signal, a queue operation) in about a third
/// of all transitions; this direct-mapped memo answers almost all of them without hashing
/// and interning a whole thread part.
struct Recolor {
    /// `[part + 1, foreign, new part, 0]`; `part + 1 == 0` is an empty slot.
    slots: Vec<[u32; 4]>,
    /// A thread part being put together.
    scratch: Vec<u8>,
}

const RECOLOR_BITS: u32 = 14;

impl Recolor {
    fn new(thread_len: usize) -> Recolor {
        Recolor {
            slots: vec![[0; 4]; 1 << RECOLOR_BITS],
            scratch: vec![0; thread_len],
        }
    }

    #[inline]
    fn slot(part: u32, foreign: u32) -> usize {
        let x = (part as u64) << 32 ^ foreign as u64;
        (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECOLOR_BITS)) as usize
    }

    /// The new part, from the memo or by interning it.
    fn get(
        &mut self,
        part: u32,
        view: u32,
        u: usize,
        interner: &mut Interner,
        cache: &StepCache,
    ) -> u32 {
        let foreign = cache.fid(view, u);
        let i = Self::slot(part, foreign);
        let e = self.slots[i];
        if e[0] == part.wrapping_add(1) && e[1] == foreign {
            return e[2];
        }
        let fl = cache.foreign.len();
        let v = cache.view(view);
        let scratch = &mut self.scratch;
        scratch.copy_from_slice(interner.get(part));
        scratch[cache.foreign.clone()]
            .copy_from_slice(&v[cache.shared_len + u * fl..cache.shared_len + (u + 1) * fl]);
        let new = interner.intern(scratch);
        self.slots[i] = [part.wrapping_add(1), foreign, new, 0];
        new
    }
}

/// Fixed-size records in chunks (no reallocation copies), found by a key prefix through an
/// open-addressing table of `(hash tag, record number)` words. The step cache numbers its
/// views with it.
///
/// One probe reads one 8-byte word holding both a 32-bit hash tag and the record number;
/// the record itself is read only when the tags agree, which is almost always a true match.
/// Growing the table rehashes from the tags alone, never from the records.
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

/// The visited states: every state's key packed into `w` 64-bit words (the key's bytes in
/// little-endian order, then bit 63 of the last word set, so that an empty slot is all
/// zeros), kept in the slots of an open-addressing table (linear probing, power-of-two
/// size, a key's home slot given by the top bits of its hash).
///
/// Why the keys live in the table: most successors are states seen before, and a table of
/// numbers pointing at keys stored elsewhere pays a second cache miss to compare each of
/// them. Here one probe reads the key itself, and the batch brings every successor's home
/// slot in at once. The table needs no state numbers: BFS order, parents and the frontier's
/// keys are kept apart (`Frontier`, `parents`). Growing streams the table: a slot's keys
/// move to slots `2i` and `2i + 1`.
struct Seen {
    w: usize,
    len: usize,
    /// 64 - log2(slots).
    shift: u32,
    /// slots - 1.
    mask: usize,
    /// `!(slots per cache line - 1)`: a key's home is the first slot of a cache line, so
    /// that a probe reads as few lines as it can.
    align: usize,
    table: Mem<u64>,
    /// For keys longer than 15 bytes, and for tables that would otherwise reach
    /// `BIG_TABLE` bytes: a table of `(hash tag, state number)` words and the keys in
    /// chunks, which keeps memory per state near the key's length (at the price of a
    /// second cache miss to compare a key).
    big: Option<(Records, Vec<u8>)>,
    key_len: usize,
}

/// The size at which the visited table stops keeping keys in its slots (see `Seen::big`):
/// growing to it would hold the old and the new table, 1.5 GiB, at once.
const BIG_TABLE: usize = 1 << 30;

/// Bit 63 of a packed key's last word: the slot is in use.
const MARK: u64 = 1 << 63;

impl Seen {
    fn new(w: usize, key_len: usize) -> Seen {
        const BITS: u32 = 12;
        Seen {
            w,
            len: 0,
            shift: 64 - BITS,
            mask: (1 << BITS) - 1,
            align: !(if 64 % (8 * w) == 0 {
                64 / (8 * w) - 1
            } else {
                0
            }),
            table: Mem::zeroed(w << BITS),
            big: (w > 2).then(|| (Records::new(key_len, key_len), vec![0; 8 * w])),
            key_len,
        }
    }

    /// Move the keys to the `big` representation.
    fn move_to_big(&mut self) {
        let w = self.w;
        let mut r = Records::new(self.key_len, self.key_len);
        let mut scratch = vec![0u8; 8 * w];
        let key_len = self.key_len;
        for k in self.table.chunks_exact(w).filter(|k| k[w - 1] != 0) {
            for (b, &x) in scratch.chunks_exact_mut(8).zip(k) {
                b.copy_from_slice(&x.to_le_bytes());
            }
            let tag = (hash_words(k) >> 32) as u32;
            if let Err(slot) = r.find(&scratch[..key_len], tag) {
                r.add(slot, tag, &scratch[..key_len]);
            }
        }
        self.table = Mem::zeroed(w);
        self.big = Some((r, scratch));
    }

    /// The table words the keys' probes start at, folded together: read only to bring
    /// their cache lines in early, so that the misses of a batch overlap.
    fn touch_all(&self, succ: &[Succ]) -> u64 {
        if let Some((r, _)) = &self.big {
            let table: &[u64] = &r.table;
            let mask = table.len() - 1;
            return succ.iter().fold(0, |a, s| {
                a ^ table[Records::slot_of((s.hash >> 32) as u32, mask)]
            });
        }
        let table: &[u64] = &self.table;
        succ.iter().fold(0, |a, s| {
            a ^ table[((s.hash >> self.shift) as usize & self.align) * self.w]
        })
    }

    /// Make room for `extra` more keys.
    #[inline]
    fn reserve(&mut self, extra: usize) {
        while self.big.is_none() && (self.len + extra) * 16 > (self.mask + 1) * MAX_FILL_16THS {
            if (self.mask + 1) * 2 * self.w * 8 >= BIG_TABLE {
                self.move_to_big();
            } else {
                self.grow();
            }
        }
    }

    /// Insert packed keys (`w` words each) with their hashes (`hash_words`), after a
    /// `reserve` for them; pushes the place of each new one to `fresh`.
    #[inline]
    fn insert_all(&mut self, keys: &[u64], succ: &[Succ], fresh: &mut Vec<usize>) {
        let w = self.w;
        if let Some((r, scratch)) = &mut self.big {
            let key_len = self.key_len;
            for (j, (k, s)) in keys.chunks_exact(w).zip(succ).enumerate() {
                for (b, &x) in scratch.chunks_exact_mut(8).zip(k) {
                    b.copy_from_slice(&x.to_le_bytes());
                }
                let key = &scratch[..key_len];
                let tag = (s.hash >> 32) as u32;
                if let Err(slot) = r.find(key, tag) {
                    r.add(slot, tag, key);
                    fresh.push(j);
                    self.len += 1;
                }
            }
            return;
        }
        let mask = self.mask;
        let shift = self.shift;
        let table: &mut [u64] = &mut self.table;
        let mut added = 0;
        let align = self.align;
        for (j, (k, s)) in keys.chunks_exact(w).zip(succ).enumerate() {
            let mut i = (s.hash >> shift) as usize & align;
            if w == 2 {
                let (k0, k1) = (k[0], k[1]);
                loop {
                    let s = &mut table[2 * i..2 * i + 2];
                    if s[1] == 0 {
                        s[0] = k0;
                        s[1] = k1;
                        fresh.push(j);
                        added += 1;
                        break;
                    }
                    if s[0] == k0 && s[1] == k1 {
                        break;
                    }
                    i = (i + 1) & mask;
                }
            } else {
                loop {
                    let s = &mut table[w * i..w * i + w];
                    if s[w - 1] == 0 {
                        s.copy_from_slice(k);
                        fresh.push(j);
                        added += 1;
                        break;
                    }
                    if *s == *k {
                        break;
                    }
                    i = (i + 1) & mask;
                }
            }
        }
        self.len += added;
    }

    fn grow(&mut self) {
        let w = self.w;
        let slots = self.table.len() / w * 2;
        let mut fresh = Mem::<u64>::zeroed(slots * w);
        let shift = self.shift - 1;
        let mask = slots - 1;
        let t: &mut [u64] = &mut fresh;
        for k in self.table.chunks_exact(w).filter(|k| k[w - 1] != 0) {
            let mut i = (hash_words(k) >> shift) as usize & self.align;
            while t[w * i + w - 1] != 0 {
                i = (i + 1) & mask;
            }
            t[w * i..w * i + w].copy_from_slice(k);
        }
        self.table = fresh;
        self.shift = shift;
        self.mask = mask;
    }

    fn bytes(&self) -> u64 {
        self.table.len() as u64 * 8 + self.big.as_ref().map_or(0, |(r, _)| r.bytes())
    }
}

/// The hash of a packed key (its home slot is the top bits).
#[inline]
fn hash_words(k: &[u64]) -> u64 {
    let mut h = 0u64;
    for &x in k {
        h = (h ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
    }
    h.wrapping_mul(0xff51_afd7_ed55_8ccd)
}

/// States in a FIFO of chunks.
const CHUNK_RECS: usize = 1 << 16;

/// The states not expanded yet, in BFS order: each one's packed key and view number.
/// Records are appended in chunks, and a chunk is freed once all its states are expanded,
/// so only the frontier's keys are kept twice (the visited table has them all).
struct Frontier {
    w: usize,
    rec: usize,
    chunks: std::collections::VecDeque<Mem<u8>>,
    /// The number of the first state in `chunks[0]` (a multiple of `CHUNK_RECS`).
    base: usize,
    /// States ever pushed.
    len: usize,
}

impl Frontier {
    fn new(w: usize) -> Frontier {
        Frontier {
            w,
            rec: 8 * w + 4,
            chunks: Default::default(),
            base: 0,
            len: 0,
        }
    }

    fn push(&mut self, key: &[u64], view: u32) {
        let n = self.len;
        if n.is_multiple_of(CHUNK_RECS) {
            self.chunks.push_back(Mem::zeroed(CHUNK_RECS * self.rec));
        }
        let o = (n % CHUNK_RECS) * self.rec;
        let w = self.w;
        if let Some(c) = self.chunks.back_mut() {
            let r = &mut c[o..o + self.rec];
            for (d, &x) in r.chunks_exact_mut(8).zip(key) {
                d.copy_from_slice(&x.to_le_bytes());
            }
            r[8 * w..8 * w + 4].copy_from_slice(&view.to_le_bytes());
        }
        self.len += 1;
    }

    /// State `i`'s packed key (into `key`) and view number.
    #[inline]
    fn get(&self, i: usize, key: &mut [u64]) -> u32 {
        let j = i - self.base;
        let o = (j % CHUNK_RECS) * self.rec;
        let r = &self.chunks[j / CHUNK_RECS][o..o + self.rec];
        for (x, s) in key.iter_mut().zip(r.chunks_exact(8)) {
            *x = word64(s, 0);
        }
        let w = self.w;
        u32::from_le_bytes([r[8 * w], r[8 * w + 1], r[8 * w + 2], r[8 * w + 3]])
    }

    /// Forget the states before `i`.
    fn release(&mut self, i: usize) {
        while i - self.base >= CHUNK_RECS && !self.chunks.is_empty() {
            self.chunks.pop_front();
            self.base += CHUNK_RECS;
        }
    }

    fn bytes(&self) -> u64 {
        (self.chunks.len() * CHUNK_RECS * self.rec) as u64
    }
}

/// Write the low `n` bytes (at most 8) of `val` at byte `off` of a packed key.
#[inline]
fn put_bytes(k: &mut [u64], off: usize, val: u64, n: usize) {
    let m = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    let val = val & m;
    let wi = off >> 3;
    let sh = (off & 7) * 8;
    k[wi] = (k[wi] & !(m << sh)) | (val << sh);
    if sh + 8 * n > 64 {
        let sh2 = 64 - sh;
        k[wi + 1] = (k[wi + 1] & !(m >> sh2)) | (val >> sh2);
    }
}

/// Read `n` bytes (at most 8) at byte `off` of a packed key.
#[inline]
fn get_bytes(k: &[u64], off: usize, n: usize) -> u64 {
    let m = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    let wi = off >> 3;
    let sh = (off & 7) * 8;
    let mut v = k[wi] >> sh;
    if sh + 8 * n > 64 {
        v |= k[wi + 1] << (64 - sh);
    }
    v & m
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
    nthreads: usize,
    /// Per view, per thread: the number of the thread's foreign bytes in the view.
    fids: Vec<u32>,
    /// Distinct foreign bytes, numbered.
    foreigns: std::collections::HashMap<Vec<u8>, u32>,
}

/// A step's key in the cache: (thread, its part number, the view number), or for an actor
/// (`0x80 | actor`, its choice, the view number): an actor's move depends on the view only.
type StepKey = (u8, u32, u32);

/// What the cache says about a step.
#[derive(Clone, Copy)]
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
            nthreads: l.nthreads,
            fids: Vec::new(),
            foreigns: Default::default(),
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
            Err(slot) => {
                let fl = self.foreign.len();
                for u in 0..self.nthreads {
                    let f = &view[self.shared_len + u * fl..self.shared_len + (u + 1) * fl];
                    let next = self.foreigns.len() as u32;
                    let fid = *self.foreigns.entry(f.to_vec()).or_insert(next);
                    self.fids.push(fid);
                }
                self.views.add(slot, tag, view) as u32
            }
        }
    }

    /// The number of thread `u`'s foreign bytes in view `view`.
    #[inline]
    fn fid(&self, view: u32, u: usize) -> u32 {
        self.fids[view as usize * self.nthreads + u]
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

    /// The first slots of the keys' probes, folded together: read early so that their
    /// cache misses overlap.
    fn touch_all(&self, keys: impl Iterator<Item = StepKey>) -> u32 {
        let slots: &[[u32; 8]] = &self.slots;
        let mask = slots.len() - 1;
        keys.fold(0, |a, k| a ^ slots[Self::home(k, mask)][0])
    }

    /// `Ok(slot)` holding the key, or `Err(free slot)`.
    fn find(&self, key: StepKey) -> Result<usize, usize> {
        Self::find_in(&self.slots, key)
    }

    #[inline(always)]
    fn find_in(slots: &[[u32; 8]], key: StepKey) -> Result<usize, usize> {
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

    /// What the cache says about each key, in order.
    fn lookup_all(&self, keys: impl Iterator<Item = StepKey>, out: &mut Vec<Cached>) {
        let slots: &[[u32; 8]] = &self.slots;
        out.extend(keys.map(|k| Self::lookup_in(slots, k)));
    }

    #[inline(always)]
    fn lookup_in(slots: &[[u32; 8]], key: StepKey) -> Cached {
        match Self::find_in(slots, key) {
            Err(_) => Cached::Unknown,
            Ok(i) => {
                let e = &slots[i];
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

/// Write thread `t`'s part number into a packed key whose part numbers sit at `pos`
/// (word, shift, whether it straddles into the next word), `idmask` wide.
#[inline]
fn put_packed_id(
    k: &mut [u64],
    pos: &[(usize, u32, bool)],
    idmask: u64,
    t: usize,
    id: u32,
) -> Result<(), Overflow> {
    let v = id as u64;
    if v > idmask {
        return Err(Overflow);
    }
    let (wi, sh, straddle) = pos[t];
    k[wi] = (k[wi] & !(idmask << sh)) | (v << sh);
    if straddle {
        k[wi + 1] = (k[wi + 1] & !(idmask >> (64 - sh))) | (v >> (64 - sh));
    }
    Ok(())
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

/// Encodes states to packed keys and back. A key's bytes are each thread part's number
/// (`width` bytes, little-endian, at byte `t * width`), then the shared part, so that the
/// part numbers that a step changes are written at fixed, aligned places.
struct Codec<'m> {
    model: &'m Model,
    /// 64-bit words per packed key.
    words: usize,
    interner: Interner<'m>,
    recolor: Recolor,
    /// Per thread: where its part number is, as (word, bit shift, whether it runs into
    /// the next word).
    pos: Vec<(usize, u32, bool)>,
    /// The largest part number that fits.
    idmask: u64,
    /// Where the shared part starts (after the part numbers).
    soff: usize,
}

struct Overflow;

impl<'m> Codec<'m> {
    fn new(model: &'m Model, width: usize) -> Codec<'m> {
        let l = &model.layout;
        let key_len = l.shared_len + l.nthreads * width;
        Codec {
            model,
            words: (key_len + 1).div_ceil(8),
            interner: Interner::new(l),
            recolor: Recolor::new(l.thread_len),
            pos: (0..l.nthreads)
                .map(|t| {
                    let b = 8 * (t * width) as u32;
                    ((b / 64) as usize, b % 64, b % 64 + 8 * width as u32 > 64)
                })
                .collect(),
            idmask: (1u64 << (8 * width)) - 1,
            soff: l.nthreads * width,
        }
    }

    /// An all-zero packed key (with its mark).
    fn blank(&self) -> Vec<u64> {
        let mut k = vec![0u64; self.words];
        k[self.words - 1] = MARK;
        k
    }

    /// Thread `t`'s part number in a packed key.
    #[inline]
    fn id(&self, k: &[u64], t: usize) -> u32 {
        let (wi, sh, straddle) = self.pos[t];
        let mut v = k[wi] >> sh;
        if straddle {
            v |= k[wi + 1] << (64 - sh);
        }
        (v & self.idmask) as u32
    }

    /// Write thread `t`'s part number into a packed key.
    #[inline]
    fn put_id(&self, k: &mut [u64], t: usize, id: u32) -> Result<(), Overflow> {
        put_packed_id(k, &self.pos, self.idmask, t, id)
    }

    /// `apply` for keys of at most 15 bytes (two words), `key` being the parent's.
    #[inline]
    fn apply16<const WIDTH: usize>(
        &mut self,
        key: [u64; 2],
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
    ) -> Result<[u64; 2], Overflow> {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&key[0].to_le_bytes());
        k[8..].copy_from_slice(&key[1].to_le_bytes());
        let put = |k: &mut [u8; 16], u: usize, id: u32| -> Result<(), Overflow> {
            if WIDTH == 2 && id > 0xffff {
                return Err(Overflow);
            }
            let o = u * WIDTH;
            k[o..o + WIDTH].copy_from_slice(&id.to_le_bytes()[..WIDTH]);
            Ok(())
        };
        Self::new_ids(
            &mut self.recolor,
            &mut self.interner,
            ids,
            t,
            step,
            cache,
            |u, id| put(&mut k, u, id),
        )?;
        let (o, sl) = (self.soff, self.model.layout.shared_len);
        if sl <= 4 && o + 4 <= 16 {
            // The bytes after the shared part are zero in `step.shared`; the mark is
            // set again below.
            k[o..o + 4].copy_from_slice(&step.shared.to_le_bytes());
        } else if sl <= 4 {
            k[o..o + sl].copy_from_slice(&step.shared.to_le_bytes()[..sl]);
        } else {
            k[o..o + sl].copy_from_slice(&cache.view(step.view)[..sl]);
        }
        k[15] |= 0x80;
        Ok([word64(&k, 0), word64(&k, 8)])
    }

    /// The shared part of a packed key.
    fn shared(&self, k: &[u64], out: &mut [u8]) {
        for (j, b) in out.iter_mut().enumerate() {
            *b = get_bytes(k, self.soff + j, 1) as u8;
        }
    }

    /// Encode `s` into a packed key: a successor of `parent` (whose part ids are
    /// `parent_ids`) by a move of `mover` (a thread, or None for an actor); a parent id of
    /// `u32::MAX` means "no parent" (the initial state). Only the mover's part can differ
    /// from the parent's outside the `foreign` bytes (see `wqcheck_model::state`), so the
    /// other parts are compared on those bytes only. Returns the mover's part number.
    fn encode(
        &mut self,
        s: &[u8],
        parent: &[u8],
        parent_ids: &[u32],
        mover: Option<usize>,
        k: &mut [u64],
    ) -> Result<Option<u32>, Overflow> {
        let l = &self.model.layout;
        let foreign = l.foreign();
        k.fill(0);
        k[self.words - 1] = MARK;
        for (j, &b) in s[..l.shared_len].iter().enumerate() {
            put_bytes(k, self.soff + j, b as u64, 1);
        }
        let mut mover_id = None;
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
            self.put_id(k, t, id)?;
        }
        Ok(mover_id)
    }

    /// Turn `k`, a copy of the packed key of the state whose part numbers are `ids`, into
    /// the successor that the step cache describes for thread `t` (None: an actor moved).
    /// Other threads keep their part unless the step changed their foreign bytes, which
    /// are then taken from the new view.
    #[inline]
    fn apply(
        &mut self,
        k: &mut [u64],
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
    ) -> Result<(), Overflow> {
        let sl = self.model.layout.shared_len;
        if sl <= 4 {
            if sl > 0 {
                put_bytes(k, self.soff, step.shared as u64, sl);
            }
        } else {
            for (j, &b) in cache.view(step.view)[..sl].iter().enumerate() {
                put_bytes(k, self.soff + j, b as u64, 1);
            }
        }
        let (pos, idmask) = (&self.pos, self.idmask);
        Self::new_ids(
            &mut self.recolor,
            &mut self.interner,
            ids,
            t,
            step,
            cache,
            |u, id| put_packed_id(k, pos, idmask, u, id),
        )
    }

    /// The part numbers a step gives, each handed to `put` (thread, number): the mover's
    /// new part, then, for each thread whose foreign bytes the step changed, its part
    /// recoloured from the new view. It takes the two fields it changes rather than `self`,
    /// so that `put` may borrow the others.
    #[inline]
    fn new_ids(
        recolor: &mut Recolor,
        interner: &mut Interner<'m>,
        ids: &[u32],
        t: Option<usize>,
        step: Step,
        cache: &StepCache,
        mut put: impl FnMut(usize, u32) -> Result<(), Overflow>,
    ) -> Result<(), Overflow> {
        if let Some(t) = t {
            put(t, step.part)?;
        }
        let mut changed = step.changed as u32;
        while changed != 0 {
            let u = changed.trailing_zeros() as usize;
            changed &= changed - 1;
            put(u, recolor.get(ids[u], step.view, u, interner, cache))?;
        }
        Ok(())
    }

    /// The state of a packed key.
    fn decode(&self, k: &[u64], s: &mut [u8]) {
        let l = &self.model.layout;
        self.shared(k, &mut s[..l.shared_len]);
        for t in 0..l.nthreads {
            let o = l.thread_off(t);
            s[o..o + l.thread_len].copy_from_slice(self.interner.get(self.id(k, t)));
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

/// States expanded together. Expanding a state costs a handful of cache misses (its steps
/// in the step cache, its successors in the visited table); doing each stage for a batch
/// of states before the next stage lets those misses overlap.
const BATCH: usize = 64;

/// A move to try in a state of the batch.
#[derive(Clone, Copy)]
struct Try {
    /// The move's place in the state's list of moves (`moves`), for paths.
    index: u32,
    mover: Mover,
    /// The step-cache key.
    key: StepKey,
}

/// A successor in the batch (its key is kept apart).
#[derive(Clone, Copy)]
struct Succ {
    /// `hash_words` of the key.
    hash: u64,
    /// Its view number.
    view: u32,
    /// The move's place in the state's list of moves.
    index: u32,
}

/// How each state was reached: its BFS parent and the move's place in the parent's list
/// of moves, so that a path is rebuilt by replaying moves from the initial state.
struct Parents {
    parent: Vec<u32>,
    index: Vec<u8>,
    /// Move indices of 255 and more, by state.
    far: std::collections::HashMap<u32, u32>,
}

impl Parents {
    fn len(&self) -> usize {
        self.parent.len()
    }

    fn push(&mut self, parent: u32, index: u32) {
        let i = self.parent.len() as u32;
        self.parent.push(parent);
        if index < 255 {
            self.index.push(index as u8);
        } else {
            self.index.push(255);
            self.far.insert(i, index);
        }
    }

    /// The moves from the initial state to state `i`.
    fn path_to(&self, model: &Model, i: usize) -> Vec<Mover> {
        let mut chain = Vec::new();
        let mut j = i;
        while self.parent[j] != u32::MAX {
            chain.push(match self.index[j] {
                255 => self.far.get(&(j as u32)).copied().unwrap_or(u32::MAX),
                x => x as u32,
            });
            j = self.parent[j] as usize;
        }
        chain.reverse();
        let Ok(mut cur) = model.initial_state() else {
            return Vec::new();
        };
        let mut movers = Vec::new();
        let mut path = Vec::with_capacity(chain.len());
        for x in chain {
            moves(model, &cur, &mut movers);
            let Some(&m) = movers.get(x as usize) else {
                break;
            };
            if model.step(&mut cur, m, None) != StepResult::Moved {
                break;
            }
            path.push(m);
        }
        path
    }

    fn bytes(&self) -> u64 {
        (self.parent.capacity() * 4 + self.index.capacity() + self.far.capacity() * 8) as u64
    }
}

fn explore_with_width(model: &Model, opts: &Options, width: usize) -> Result<Outcome, Overflow> {
    let start = Instant::now();
    let l = &model.layout;
    let n = l.state_len();
    let nt = l.nthreads;
    let sl = l.shared_len;
    let mut codec = Codec::new(model, width);
    let w = codec.words;
    let mut seen = Seen::new(w, l.shared_len + nt * width);
    let mut frontier = Frontier::new(w);
    let mut parents = Parents {
        parent: Vec::new(),
        index: Vec::new(),
        far: Default::default(),
    };
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
    let mut key = codec.blank();
    let no_ids = vec![u32::MAX; nt];
    let blank = vec![0xAAu8; n];
    codec.encode(&init, &blank, &no_ids, None, &mut key)?;
    let mut view = Vec::new();
    let mut cache = (opts.step_cache > 0).then(|| StepCache::new(model, opts.step_cache));
    let init_view = match cache.as_mut() {
        Some(c) => {
            c.view_of(model, &init, &mut view);
            c.view_id(&view, hash_tag(&view))
        }
        None => 0,
    };
    let mut fresh: Vec<usize> = Vec::new();
    seen.reserve(1);
    let first = Succ {
        hash: hash_words(&key),
        view: init_view,
        index: 0,
    };
    seen.insert_all(&key, &[first], &mut fresh);
    parents.push(u32::MAX, 0);
    frontier.push(&key, init_view);

    // The batch: per state, its packed key, part numbers, shared part, view, and (only for
    // the interpreter) the decoded state.
    let mut b_key = vec![0u64; BATCH * w];
    let mut b_ids = vec![0u32; BATCH * nt];
    let mut b_shared = vec![0u8; BATCH * sl];
    let mut b_view = [0u32; BATCH];
    let mut b_state = vec![0u8; BATCH * n];
    let mut b_decoded = [false; BATCH];
    // Every thread has returned / some move is possible.
    let mut b_all_done = [false; BATCH];
    let mut b_any = [false; BATCH];
    // Each state's successors: `s_*[b_succ[b]..b_succ[b + 1]]`.
    let mut b_succ = [0usize; BATCH + 1];
    let mut tries: Vec<Try> = Vec::new();
    let mut blocked = Blocked::new(sl);
    let mut looked: Vec<Cached> = Vec::new();
    let mut faults: Vec<(usize, Mover, wqcheck_model::Fault)> = Vec::new();
    // The batch's successors: packed keys (`w` words each) and the rest.
    let mut s_key: Vec<u64> = Vec::new();
    let mut succ: Vec<Succ> = Vec::new();
    // Each state's moves to try: `tries[b_tries[b]..b_tries[b + 1]]`.
    let mut b_tries = [0usize; BATCH + 1];
    let mut next = vec![0u8; n];
    let mut stuck = vec![0u8; n];
    let mut idx = 0usize;
    let mut level_end = 1usize;
    let mut depth = 0u32;
    let mut last_progress = Instant::now();
    let finish = |mut o: Outcome,
                  seen: &Seen,
                  parents: &Parents,
                  frontier: &Frontier,
                  codec: &Codec,
                  cache: &Option<StepCache>,
                  depth: u32|
     -> Outcome {
        o.states = parents.len() as u64;
        o.depth = depth;
        o.elapsed = start.elapsed();
        o.store_bytes = seen.bytes()
            + parents.bytes()
            + frontier.bytes()
            + codec.interner.bytes()
            + cache.as_ref().map(|c| c.bytes()).unwrap_or(0);
        o
    };
    macro_rules! finish {
        ($depth:expr) => {
            finish(outcome, &seen, &parents, &frontier, &codec, &cache, $depth)
        };
    }
    while idx < parents.len() {
        if let Some(max) = opts.max_time {
            if start.elapsed() >= max {
                if outcome.violation.is_none() {
                    outcome.verdict = Verdict::Inconclusive;
                }
                outcome.budget_hit = Some(format!("time limit of {} s", max.as_secs()));
                return Ok(finish!(depth));
            }
        }
        if let Some(p) = opts.progress {
            if last_progress.elapsed() >= Duration::from_secs(1) {
                last_progress = Instant::now();
                p(&Progress {
                    states: parents.len() as u64,
                    depth,
                    elapsed: start.elapsed(),
                });
            }
        }
        let count = BATCH.min(parents.len() - idx);
        frontier.release(idx);
        // 1. Read each state's key, part numbers and moves. The thread parts are read where
        // the interner keeps them; a whole state is put together only for the interpreter.
        tries.clear();
        for b in 0..count {
            b_tries[b] = tries.len();
            let k = &mut b_key[b * w..(b + 1) * w];
            let view_id = frontier.get(idx + b, k);
            b_view[b] = view_id;
            let shared = &mut b_shared[b * sl..(b + 1) * sl];
            let ids = &mut b_ids[b * nt..(b + 1) * nt];
            if w == 2 && width == 2 {
                let mut kb = [0u8; 16];
                kb[..8].copy_from_slice(&k[0].to_le_bytes());
                kb[8..].copy_from_slice(&k[1].to_le_bytes());
                for (t, id) in ids.iter_mut().enumerate() {
                    let o = 2 * t;
                    *id = u16::from_le_bytes([kb[o], kb[o + 1]]) as u32;
                }
                for (j, x) in shared.iter_mut().enumerate() {
                    *x = kb[codec.soff + j];
                }
            } else {
                for (t, id) in ids.iter_mut().enumerate() {
                    *id = codec.id(k, t);
                }
                codec.shared(k, shared);
            }
            b_decoded[b] = false;
            b_any[b] = false;
            let mut all_done = true;
            let mut index = 0u32;
            let sh = blocked.key(shared);
            for t in 0..nt {
                let id = b_ids[b * nt + t];
                if codec.interner.done[id as usize] {
                    continue;
                }
                all_done = false;
                if !blocked.get(model, &codec.interner, id, shared, sh) {
                    tries.push(Try {
                        index,
                        mover: Mover::Thread(t as u8),
                        key: (t as u8, id, view_id),
                    });
                }
                index += 1;
            }
            b_all_done[b] = all_done;
            for a in 0..l.nactors {
                for c in 0..model.actor_choices(shared, a) {
                    tries.push(Try {
                        index,
                        mover: Mover::Actor {
                            actor: a as u8,
                            choice: c as u8,
                        },
                        key: (0x80 | a as u8, c as u32, view_id),
                    });
                    index += 1;
                }
            }
        }
        b_tries[count] = tries.len();
        // 2. Bring the step-cache entries in. The touched words are folded together and
        // kept once at the end: a store per touch would wait for its load and fill the
        // store buffer.
        looked.clear();
        if let Some(c) = cache.as_ref() {
            let touched = c.touch_all(tries.iter().map(|tr| tr.key));
            std::hint::black_box(touched);
            c.lookup_all(tries.iter().map(|tr| tr.key), &mut looked);
        } else {
            looked.resize(tries.len(), Cached::Unknown);
        }
        // 3. Every state's successors, from the cache or the interpreter.
        s_key.clear();
        succ.clear();
        faults.clear();
        for b in 0..count {
            b_succ[b] = succ.len();
            let ids = &b_ids[b * nt..(b + 1) * nt];
            for ti in b_tries[b]..b_tries[b + 1] {
                let tr = &tries[ti];
                let thread = match tr.mover {
                    Mover::Thread(t) => Some(t as usize),
                    Mover::Actor { .. } => None,
                };
                if let Some(c) = cache.as_ref() {
                    match looked[ti] {
                        Cached::Blocked => continue,
                        Cached::Moved(step) => {
                            b_any[b] = true;
                            let hash = if w == 2 {
                                let key = [b_key[2 * b], b_key[2 * b + 1]];
                                let k = if width == 2 {
                                    codec.apply16::<2>(key, ids, thread, step, c)?
                                } else {
                                    codec.apply16::<4>(key, ids, thread, step, c)?
                                };
                                s_key.extend_from_slice(&k);
                                hash_words(&k)
                            } else {
                                let o = s_key.len();
                                s_key.extend_from_slice(&b_key[b * w..(b + 1) * w]);
                                let k = &mut s_key[o..o + w];
                                codec.apply(k, ids, thread, step, c)?;
                                hash_words(k)
                            };
                            succ.push(Succ {
                                hash,
                                view: step.view,
                                index: tr.index,
                            });
                            continue;
                        }
                        Cached::Unknown => {}
                    }
                }
                let cur = &mut b_state[b * n..(b + 1) * n];
                if !b_decoded[b] {
                    codec.decode(&b_key[b * w..(b + 1) * w], cur);
                    b_decoded[b] = true;
                }
                next.copy_from_slice(cur);
                match model.step(&mut next, tr.mover, None) {
                    StepResult::Blocked => {
                        if let Some(c) = cache.as_mut() {
                            c.remember(tr.key, None);
                        }
                    }
                    StepResult::Fault(f) => {
                        b_any[b] = true;
                        outcome.transitions += 1;
                        faults.push((b, tr.mover, f));
                    }
                    StepResult::Moved => {
                        b_any[b] = true;
                        let o = s_key.len();
                        s_key.resize(o + w, 0);
                        let k = &mut s_key[o..o + w];
                        let id = codec.encode(&next, cur, ids, thread, k)?;
                        let mut vid = 0;
                        if let Some(c) = cache.as_mut() {
                            c.view_of(model, &next, &mut view);
                            vid = c.view_id(&view, hash_tag(&view));
                            let step = c.step_of(model, cur, &next, thread, id.unwrap_or(0), vid);
                            c.remember(tr.key, Some(step));
                        }
                        succ.push(Succ {
                            hash: hash_words(k),
                            view: vid,
                            index: tr.index,
                        });
                    }
                }
            }
        }
        b_succ[count] = succ.len();
        outcome.transitions += succ.len() as u64;
        // 4. Bring every successor's home slot in at once.
        let touched = seen.touch_all(&succ);
        std::hint::black_box(touched);
        // 5. In BFS order: report, insert, check the budget and stuck states.
        for b in 0..count {
            let i = idx + b;
            if i == level_end {
                depth += 1;
                level_end = parents.len();
            }
            for (_, m, f) in faults.iter().filter(|f| f.0 == b) {
                if outcome.violation.is_some() {
                    break;
                }
                let mut path = parents.path_to(model, i);
                path.push(*m);
                outcome.verdict = Verdict::AssertionFailed;
                outcome.violation = Some(Violation {
                    verdict: Verdict::AssertionFailed,
                    message: f.message.clone(),
                    span: Some(f.span),
                });
                outcome.path = path;
                if !opts.full {
                    return Ok(finish!(depth + 1));
                }
            }
            let (first, end) = (b_succ[b], b_succ[b + 1]);
            seen.reserve(end - first);
            fresh.clear();
            seen.insert_all(&s_key[first * w..end * w], &succ[first..end], &mut fresh);
            for &j in fresh.iter() {
                let j = first + j;
                parents.push(i as u32, succ[j].index);
                frontier.push(&s_key[j * w..(j + 1) * w], succ[j].view);
                if let Some(max) = opts.max_states {
                    if parents.len() as u64 >= max {
                        if outcome.violation.is_none() {
                            outcome.verdict = Verdict::Inconclusive;
                        }
                        outcome.budget_hit = Some(format!("state limit of {max} distinct states"));
                        return Ok(finish!(depth));
                    }
                }
            }
            if !b_any[b] && !b_all_done[b] && outcome.violation.is_none() {
                codec.decode(&b_key[b * w..(b + 1) * w], &mut stuck);
                let v = model.classify_stuck(&stuck);
                outcome.verdict = v.verdict;
                outcome.violation = Some(v);
                outcome.path = parents.path_to(model, i);
                if !opts.full {
                    return Ok(finish!(depth));
                }
            }
        }
        idx += count;
    }
    Ok(finish!(depth))
}
