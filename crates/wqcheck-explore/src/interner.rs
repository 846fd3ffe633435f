//! Interned thread parts (`Interner`): each distinct thread part is stored once and named
//! by a number, which is all a packed key holds for a thread. Thread parts repeat across
//! states far more than whole states do, which makes this the first of the explorer's
//! space savings. Per part it also keeps whether the thread has returned, which the search
//! reads without looking at the part.

use crate::bytes::hash_bytes;
use hashbrown::HashTable;
use wqcheck_model::compile::PC_DONE;
use wqcheck_model::state::Layout;

/// Distinct thread parts, stored once each, with whether the thread has returned.
pub(crate) struct Interner<'m> {
    layout: &'m Layout,
    len: usize,
    data: Vec<u8>,
    table: HashTable<u32>,
    /// Per part: its pc is `PC_DONE`.
    pub(crate) done: Vec<bool>,
}

impl<'m> Interner<'m> {
    pub(crate) fn new(layout: &'m Layout) -> Interner<'m> {
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

    pub(crate) fn get(&self, id: u32) -> &[u8] {
        let o = id as usize * self.len;
        &self.data[o..o + self.len]
    }

    pub(crate) fn intern(&mut self, part: &[u8]) -> u32 {
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

    pub(crate) fn bytes(&self) -> u64 {
        (self.data.capacity() + self.table.capacity() * 5 + self.done.capacity()) as u64
    }
}
