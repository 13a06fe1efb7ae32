//! Renderings: strace text of an event, the table row of a schema event, and `listeners`
//! (table, JSON Lines). The JSON of an event is its schema line (see ../schema).

pub mod listeners_json;
pub mod listeners_table;
pub mod names;
pub mod quote;
pub mod strace;
pub mod table;
