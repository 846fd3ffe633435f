//! Interned thread parts (`Interner`): each distinct thread part is stored once and named
//! by a number, which is all a packed key holds for a thread. Thread parts repeat across
//! states far more than whole states do, which makes this the first of the explorer's
//! space savings. Per part it also keeps whether the thread has returned, which the search
//! reads without looking at the part.

use crate::bytes::hash_bytes;
use crate::mem::{MVec, Meter, OutOfMemory};
use hashbrown::HashTable;
use std::rc::Rc;
use wqcheck_model::compile::PC_DONE;
use wqcheck_model::state::Layout;

/// Distinct thread parts, stored once each, with whether the thread has returned.
pub(crate) struct Interner<'m> {
    layout: &'m Layout,
    len: usize,
    data: MVec<u8>,
    table: HashTable<u32>,
    /// Bytes charged for `table`.
    table_bytes: u64,
    /// Per part: its pc is `PC_DONE`.
    pub(crate) done: MVec<bool>,
    meter: Rc<Meter>,
}

/// The bytes of a hashbrown table of `capacity` `u32`s: about 8/7 buckets per element, each
/// a `u32` and a control byte.
fn table_bytes(capacity: usize) -> u64 {
    (capacity as u64 * 8 / 7 + 16) * 5
}

impl<'m> Interner<'m> {
    pub(crate) fn new(layout: &'m Layout, meter: &Rc<Meter>) -> Interner<'m> {
        Interner {
            layout,
            len: layout.thread_len,
            data: MVec::new(meter),
            table: HashTable::new(),
            table_bytes: 0,
            done: MVec::new(meter),
            meter: meter.clone(),
        }
    }

    fn count(&self) -> usize {
        self.done.len()
    }

    pub(crate) fn get(&self, id: u32) -> &[u8] {
        let o = id as usize * self.len;
        &self.data[o..o + self.len]
    }

    /// The number of `part`, numbering it if it is new. Memory refused: nothing was added.
    pub(crate) fn intern(&mut self, part: &[u8]) -> Result<u32, OutOfMemory> {
        let h = hash_bytes(part);
        let (len, data) = (self.len, &self.data);
        if let Some(&id) = self.table.find(h, |&id| {
            let o = id as usize * len;
            &data[o..o + len] == part
        }) {
            return Ok(id);
        }
        if self.table.len() == self.table.capacity() {
            self.grow_table()?;
        }
        let id = self.count() as u32;
        // `count` is `done`'s length, so `done` goes last: a refusal adds no part.
        self.data.extend_from_slice(part)?;
        self.done.push(self.layout.part_pc(part) == PC_DONE)?;
        let (len, data) = (self.len, &self.data);
        self.table.insert_unique(h, id, |&id| {
            let o = id as usize * len;
            hash_bytes(&data[o..o + len])
        });
        Ok(id)
    }

    /// Double the table's capacity, charging the new table while the old one still exists.
    #[cold]
    fn grow_table(&mut self) -> Result<(), OutOfMemory> {
        let asked = table_bytes((self.table.capacity() * 2).max(16));
        self.meter.charge(asked)?;
        let (len, data) = (self.len, &self.data);
        let extra = self.table.capacity().max(16);
        if self
            .table
            .try_reserve(extra, |&id| {
                let o = id as usize * len;
                hash_bytes(&data[o..o + len])
            })
            .is_err()
        {
            return Err(self.meter.refused_by_system(asked));
        }
        // The old table is gone; charge what the new one holds (about `asked`).
        self.meter.release(self.table_bytes);
        self.table_bytes = table_bytes(self.table.capacity());
        self.meter.settle(asked, self.table_bytes);
        Ok(())
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.data.bytes() + self.table_bytes + self.done.bytes()
    }
}

impl Drop for Interner<'_> {
    fn drop(&mut self) {
        self.meter.release(self.table_bytes);
    }
}
