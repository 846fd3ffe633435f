//! The visited table (`Seen`): every state's packed key, kept in the slots of an
//! open-addressing table so that recognising a state seen before reads one cache line;
//! and `hash_words`, the hash that gives a packed key its home slot. It holds no state
//! numbers (BFS order lives in `Frontier` and `Parents`), and it moves to `Records` for long
//! keys or a very big table, so that peak memory stays bounded while it grows.

use crate::mem::{Mem, Meter, OutOfMemory};
use crate::records::{Records, MAX_FILL_16THS};
use crate::search::Succ;
use std::rc::Rc;

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
pub(crate) struct Seen {
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
    meter: Rc<Meter>,
}

/// The size at which the visited table stops keeping keys in its slots (see `Seen::big`):
/// growing to it would hold the old and the new table, 1.5 GiB, at once.
const BIG_TABLE: usize = 1 << 30;

impl Seen {
    /// `numbered`: keep the keys in `Records` from the start, so that every key's record
    /// number is its state number and `insert_all` can say which state each successor is
    /// (the liveness check's graph needs the edges, not only the new states).
    pub(crate) fn new(
        w: usize,
        key_len: usize,
        numbered: bool,
        meter: &Rc<Meter>,
    ) -> Result<Seen, OutOfMemory> {
        const BITS: u32 = 12;
        let big = match w > 2 || numbered {
            true => Some((Records::new(key_len, key_len, meter)?, vec![0; 8 * w])),
            false => None,
        };
        Ok(Seen {
            w,
            len: 0,
            shift: 64 - BITS,
            mask: (1 << BITS) - 1,
            align: !(if 64 % (8 * w) == 0 {
                64 / (8 * w) - 1
            } else {
                0
            }),
            table: Mem::zeroed(w << BITS, meter)?,
            big,
            key_len,
            meter: meter.clone(),
        })
    }

    /// Move the keys to the `big` representation.
    fn move_to_big(&mut self) -> Result<(), OutOfMemory> {
        let w = self.w;
        let mut r = Records::new(self.key_len, self.key_len, &self.meter)?;
        let mut scratch = vec![0u8; 8 * w];
        let key_len = self.key_len;
        for k in self.table.chunks_exact(w).filter(|k| k[w - 1] != 0) {
            for (b, &x) in scratch.chunks_exact_mut(8).zip(k) {
                b.copy_from_slice(&x.to_le_bytes());
            }
            let tag = (hash_words(k) >> 32) as u32;
            if let Err(slot) = r.find(&scratch[..key_len], tag) {
                r.add(slot, tag, &scratch[..key_len])?;
            }
        }
        self.table = Mem::zeroed(w, &self.meter)?;
        self.big = Some((r, scratch));
        Ok(())
    }

    /// The table words the keys' probes start at, folded together: read only to bring
    /// their cache lines in early, so that the misses of a batch overlap.
    pub(crate) fn touch_all(&self, succ: &[Succ]) -> u64 {
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
    pub(crate) fn reserve(&mut self, extra: usize) -> Result<(), OutOfMemory> {
        while self.big.is_none() && (self.len + extra) * 16 > (self.mask + 1) * MAX_FILL_16THS {
            if (self.mask + 1) * 2 * self.w * 8 >= BIG_TABLE {
                self.move_to_big()?;
            } else {
                self.grow()?;
            }
        }
        Ok(())
    }

    /// Insert packed keys (`w` words each) with their hashes (`hash_words`), after a
    /// `reserve` for them; pushes the place of each new one to `fresh`, and, for a table
    /// made `numbered`, every key's state number to `numbers`. Only the `big`
    /// representation allocates here.
    #[inline]
    pub(crate) fn insert_all(
        &mut self,
        keys: &[u64],
        succ: &[Succ],
        fresh: &mut Vec<usize>,
        numbers: Option<&mut Vec<u32>>,
    ) -> Result<(), OutOfMemory> {
        let w = self.w;
        if let Some((r, scratch)) = &mut self.big {
            let key_len = self.key_len;
            let mut numbers = numbers;
            for (j, (k, s)) in keys.chunks_exact(w).zip(succ).enumerate() {
                for (b, &x) in scratch.chunks_exact_mut(8).zip(k) {
                    b.copy_from_slice(&x.to_le_bytes());
                }
                let key = &scratch[..key_len];
                let tag = (s.hash >> 32) as u32;
                let number = match r.find(key, tag) {
                    Ok(n) => n,
                    Err(slot) => {
                        let n = r.add(slot, tag, key)?;
                        fresh.push(j);
                        self.len += 1;
                        n
                    }
                };
                if let Some(v) = numbers.as_mut() {
                    v.push(number as u32);
                }
            }
            return Ok(());
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
        Ok(())
    }

    fn grow(&mut self) -> Result<(), OutOfMemory> {
        let w = self.w;
        let slots = self.table.len() / w * 2;
        let mut fresh = Mem::<u64>::zeroed(slots * w, &self.meter)?;
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
        Ok(())
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.table.len() as u64 * 8 + self.big.as_ref().map_or(0, |(r, _)| r.bytes())
    }
}

/// The hash of a packed key (its home slot is the top bits).
#[inline]
pub(crate) fn hash_words(k: &[u64]) -> u64 {
    let mut h = 0u64;
    for &x in k {
        h = (h ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
    }
    h.wrapping_mul(0xff51_afd7_ed55_8ccd)
}
