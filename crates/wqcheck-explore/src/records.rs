//! Fixed-size records in chunks, found through an open-addressing table of
//! `(hash tag, record number)` words (`Records`). It has two users: the step cache numbers
//! its views with it, and the visited table falls back to it for keys longer than 15 bytes
//! or a table that would pass 1 GiB (`Seen::big`). It also holds the fill limit that the
//! tables share (`MAX_FILL_16THS`).

use crate::bytes::same_bytes;
use crate::mem::{Mem, Meter, OutOfMemory};
use std::rc::Rc;

const CHUNK_KEYS: usize = 1 << 18;

/// Fixed-size records in chunks (no reallocation copies), found by a key prefix through an
/// open-addressing table of `(hash tag, record number)` words. The step cache numbers its
/// views with it.
///
/// One probe reads one 8-byte word holding both a 32-bit hash tag and the record number;
/// the record itself is read only when the tags agree, which is almost always a true match.
/// Growing the table rehashes from the tags alone, never from the records.
pub(crate) struct Records {
    key_len: usize,
    rec_len: usize,
    len: usize,
    chunks: Vec<Mem<u8>>,
    /// `tag << 32 | (record + 1)`; 0 is an empty slot. Linear probing, power-of-two size.
    pub(crate) table: Mem<u64>,
    meter: Rc<Meter>,
}

/// Grow a table beyond this fill (in 1/16ths).
pub(crate) const MAX_FILL_16THS: usize = 13;

impl Records {
    pub(crate) fn new(
        key_len: usize,
        rec_len: usize,
        meter: &Rc<Meter>,
    ) -> Result<Records, OutOfMemory> {
        Ok(Records {
            key_len,
            rec_len,
            len: 0,
            chunks: Vec::new(),
            table: Mem::zeroed(1 << 12, meter)?,
            meter: meter.clone(),
        })
    }

    pub(crate) fn get(&self, i: usize) -> &[u8] {
        let o = (i % CHUNK_KEYS) * self.rec_len;
        &self.chunks[i / CHUNK_KEYS][o..o + self.rec_len]
    }

    #[inline]
    pub(crate) fn slot_of(tag: u32, mask: usize) -> usize {
        ((tag as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
    }

    /// `Ok(record)` if a record with this key exists, else `Err(free table slot)`.
    pub(crate) fn find(&self, key: &[u8], tag: u32) -> Result<usize, usize> {
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
    /// Memory refused: nothing was added.
    pub(crate) fn add(&mut self, slot: usize, tag: u32, rec: &[u8]) -> Result<usize, OutOfMemory> {
        let n = self.len;
        if (n + 1) * 16 > self.table.len() * MAX_FILL_16THS {
            // Grow first, so that a refusal leaves the table as it was; `slot` then moves.
            self.grow()?;
            return match self.find(&rec[..self.key_len], tag) {
                Err(slot) => self.add(slot, tag, rec),
                Ok(r) => Ok(r),
            };
        }
        if n.is_multiple_of(CHUNK_KEYS) {
            let chunk = Mem::zeroed(CHUNK_KEYS * self.rec_len, &self.meter)?;
            self.chunks.push(chunk);
        }
        let o = (n % CHUNK_KEYS) * self.rec_len;
        if let Some(c) = self.chunks.last_mut() {
            c[o..o + self.rec_len].copy_from_slice(rec);
        }
        self.len += 1;
        self.table[slot] = ((tag as u64) << 32) | (n as u64 + 1);
        Ok(n)
    }

    fn grow(&mut self) -> Result<(), OutOfMemory> {
        let mut fresh = Mem::<u64>::zeroed(self.table.len() * 2, &self.meter)?;
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
        Ok(())
    }

    pub(crate) fn bytes(&self) -> u64 {
        (self.chunks.len() * CHUNK_KEYS * self.rec_len + self.table.len() * 8) as u64
    }
}
