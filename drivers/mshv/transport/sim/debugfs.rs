// SPDX-License-Identifier: GPL-2.0

//! The simulator's debugfs interface, `/sys/kernel/debug/mshv_sim/`:
//!
//! - `calls`: one line per hypercall code called so far: `<code> <count>` (hex, decimal);
//! - `last`: one line per code: `<code> <control> <input>`, the last call's control word and
//!   the first 128 bytes of its input page (hex, byte by byte);
//! - `pages`: `root_free <n> root_used <n>`: the root partition's pool;
//! - `partitions`: one line per partition: its id, state, the create-partition input as
//!   received, its pool, VPs and GPA tables;
//! - `mapped`: one line per mapped range of guest memory: `<partition> <first gfn> <pages>
//!   <flags>` (hex, decimal, hex; flags: bits 0-3 permissions, 4 no access, 5 not cached,
//!   6 adjustable).

use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    fmt,
    prelude::*, //
};

use super::MACHINE;

/// The directory and its files, removed when dropped.
#[pin_data]
pub(crate) struct Debugfs {
    _dir: Dir,
    #[pin]
    _calls: File<Calls>,
    #[pin]
    _last: File<Last>,
    #[pin]
    _pages: File<Pages>,
    #[pin]
    _partitions: File<Partitions>,
    #[pin]
    _mapped: File<Mapped>,
}

impl Debugfs {
    pub(super) fn new() -> impl PinInit<Self, Error> {
        let dir = Dir::new(c"mshv_sim");
        try_pin_init!(Self {
            _calls <- dir.read_only_file(c"calls", Calls),
            _last <- dir.read_only_file(c"last", Last),
            _pages <- dir.read_only_file(c"pages", Pages),
            _partitions <- dir.read_only_file(c"partitions", Partitions),
            _mapped <- dir.read_only_file(c"mapped", Mapped),
            _dir: dir,
        })
    }
}

/// The `calls` file.
struct Calls;

impl fmt::Debug for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = MACHINE.lock();
        for (code, &count) in machine.calls.iter().enumerate() {
            if count != 0 {
                writeln!(f, "{code:#x} {count}")?;
            }
        }
        Ok(())
    }
}

/// The `last` file.
struct Last;

impl fmt::Debug for Last {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = MACHINE.lock();
        for (code, call) in machine.last.iter() {
            write!(f, "{code:#x} {:#x} ", call.control)?;
            for byte in call.input.iter() {
                write!(f, "{byte:02x}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// The `pages` file.
struct Pages;

impl fmt::Debug for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = MACHINE.lock();
        writeln!(
            f,
            "root_free {} root_used {}",
            machine.root_pool.free.len(),
            machine.root_pool.used
        )
    }
}

/// The `partitions` file.
struct Partitions;

impl fmt::Debug for Partitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = MACHINE.lock();
        for p in machine.partitions.iter() {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

/// The `mapped` file.
struct Mapped;

impl fmt::Debug for Mapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut machine = MACHINE.lock();
        let mut result = Ok(());
        for p in machine.partitions.iter_mut() {
            let id = p.id;
            p.slat.ranges(|first, pages, flags| {
                if result.is_ok() {
                    result = writeln!(f, "{id} {first:#x} {pages} {flags:#x}");
                }
            });
        }
        result
    }
}
