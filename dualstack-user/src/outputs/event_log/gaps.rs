//! The log's account of its own gaps: counts of lines missing from it, owed until a record
//! telling them has reached the file. A record that is dropped with the lines around it is not
//! a lost line: its count is owed again, so that the records in the file always sum to the
//! lines missing, whatever a fault does to the buffer and however long it lasts.

use super::GapRecord;

#[derive(Default)]
pub struct Gaps {
    record: Option<GapRecord>,
    /// Counts not yet in the buffer, by reason, in the order they first went missing.
    owed: Vec<(&'static str, u64)>,
    /// Records in the buffer: the offset where each ends, its reason and its count.
    buffered: Vec<(usize, &'static str, u64)>,
    /// Counts told by records that reached the file.
    told: u64,
}

impl Gaps {
    pub fn set_record(&mut self, record: GapRecord) {
        self.record = Some(record);
    }

    /// Notes `count` more lines missing for `reason`.
    pub fn owe(&mut self, reason: &'static str, count: u64) {
        if count == 0 {
            return;
        }
        match self.owed.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, owed)) => *owed += count,
            None => self.owed.push((reason, count)),
        }
    }

    /// Whether records wait to be put in the buffer.
    pub fn pending(&self) -> bool {
        self.record.is_some() && !self.owed.is_empty()
    }

    /// Appends a record for each owed count to the buffer; returns how many.
    pub fn emit(&mut self, buf: &mut Vec<u8>) -> u64 {
        let Some(record) = self.record else {
            return 0;
        };
        let mut added = 0;
        for (reason, count) in self.owed.drain(..) {
            record(buf, count, reason);
            self.buffered.push((buf.len(), reason, count));
            added += 1;
        }
        added
    }

    /// Records in the buffer.
    pub fn in_buffer(&self) -> u64 {
        self.buffered.len() as u64
    }

    /// The buffer's first `whole` bytes reached the file and the rest did not: the records
    /// among the first are told, the others owed again. Returns how many were told.
    pub fn settle(&mut self, whole: usize) -> u64 {
        let mut told = 0;
        for (end, reason, count) in std::mem::take(&mut self.buffered) {
            if end <= whole {
                self.told += count;
                told += 1;
            } else {
                self.owe(reason, count);
            }
        }
        told
    }

    /// Counts told in the file so far.
    pub fn told(&self) -> u64 {
        self.told
    }

    /// Counts not yet told in the file (owed, or in records still in the buffer).
    pub fn untold(&self) -> u64 {
        self.owed.iter().map(|(_, c)| c).sum::<u64>()
            + self.buffered.iter().map(|(_, _, c)| c).sum::<u64>()
    }
}
