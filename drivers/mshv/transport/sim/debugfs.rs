// SPDX-License-Identifier: GPL-2.0

//! The simulator's debugfs interface, `/sys/kernel/debug/mshv_sim/`:
//!
//! - `calls`: one line per hypercall code called so far: `<code> <count>` (hex, decimal);
//! - `last`: one line per code: `<code> <control> <input>`, the last call's control word and
//!   the first 128 bytes of its input page (hex, byte by byte);
//! - `pages`: `root_free <n> root_used <n>`: the root partition's pool;
//! - `partitions`: one line per partition: its id, state, the create-partition input as
//!   received, its pool, VPs and GPA tables;
//! - `inject` (write-only): `<partition> <vp> io <port> <value> [at <rip>]` (an `out dx, al`
//!   of the value's low byte; with `at`, the guest ran to `rip`), `<partition> <vp> mmio
//!   <gpa>`, `<partition> <vp> halt` or `<partition> <vp> exception` makes the VP take that
//!   intercept when it next runs, as if its guest had done so (numbers in decimal or 0x-hex);
//!   `<partition> <vp> read <gpa>` (or `mmio <gpa>`) and `<partition> <vp> write <gpa> <len>
//!   <value>` are a guest's accesses to memory: where nothing is mapped a write rings the
//!   doorbells it matches, else the VP takes an unmapped-GPA intercept; where the mapping denies
//!   the access, a GPA intercept; else the access is done (a write lands in the page). After an
//!   access, `at <rip>` (the guest ran to the instruction; a write's value in the low bytes of
//!   x86 `rax`, arm64 `x0`), `insn <hex>` (the instruction's bytes, up to 16 on x86, 4 on arm64)
//!   and `gva <address>` (the virtual address it used) go into the intercept's message;
//!   `<partition> <vp> eoi` is the guest's end of its oldest level-triggered interrupt in
//!   service (the root gets `HVMSG_X64_APIC_EOI`); `<partition> <vp> set <name> <low> [<high>]`
//!   leaves register `name` with that value at once, as guest instructions that take no
//!   intercept would (the simulator runs none: a test says what they did); the write returns once the root's handler
//!   has taken the messages it caused;
//! - `auto_halt` (read-write, 0 or 1): when 1, a VP that runs with no intercept waiting halts
//!   at once (a guest that only halts, for benchmarks of the run loop);
//! - `async_calls` (read-write, 0 or 1): when 1, `SET_PARTITION_PROPERTY` completes
//!   asynchronously (`HV_STATUS_CALL_PENDING`, then the status in a completion message);
//! - `mapped`: one line per mapped range of guest memory: `<partition> <first gfn> <pages>
//!   <flags>` (hex, decimal, hex; flags: bits 0-3 permissions, 4 no access, 5 not cached,
//!   6 adjustable, 7 a large entry's);
//! - `freed`: how many host frames a guest can reach (mapped with some access) whose page the
//!   kernel has freed (its count is zero): always 0 unless the root let go of memory a guest
//!   still maps;
//! - `scheduler`: the scheduler type the root is told of (`enum hv_scheduler_type`): 3, the
//!   core scheduler; 4, the root scheduler, with `hypervisor=3`;
//! - `deliveries`: `delivered <n> hardirq <n>`: the SynIC interrupts the driver's handler took
//!   so far, and how many of them in hard interrupt context (all, as on a real host);
//! - `time_ns`: `machine <ns> latency <ns> handler <ns>`, since power on: the time the
//!   machine spent on calls (from the wait for its lock to the end of each call, its messages'
//!   delivery not counted: the simulated hypervisor's own time), the SynIC interrupts' time to
//!   come (from being raised to the handler's start), and the driver's handler's; for
//!   benchmarks;
//! - `fail` (read-write): failures injected into hypercalls, memory and fast calls alike. A
//!   line written sets a rule: `<code> <nth> <status>` fails the nth call of hypercall `code`
//!   from now, once; `<code> every <n> <status>` every nth; `<code> fraction <per-mille>
//!   <status> <seed>` a pseudo-random fraction of them, the same calls for the same seed. A
//!   failed call is answered `status` (no reps done) before it is decoded, and changes nothing
//!   but the `calls` and `last` files. `clear` removes every rule. Up to 16 rules, spent ones
//!   replaced once the table is full; when several fail the same call, the first set decides.
//!   Reading lists the rules as written, with the calls of their code each saw and how many it
//!   failed: `<rule> calls=<n> injected=<n>` (code and status in hex);
//! - `vtl0` (read-write; the VTL2 partition's VTL0, see [`super::vtl0`]): a line per CPU,
//!   `<cpu> program <n> arg <n> returns <n> irqs <raised> <taken> actions <n>`; writing
//!   `<cpu> <program> [<arg>]` (or `all` for every CPU) sets what VTL0 runs there;
//! - `synic` (read-write; the hosted partition's SynIC, see [`super::hosted_synic`]): a line
//!   per CPU, `<cpu> scontrol <v> simp <v> siefp <v> sirbp <v> queued <n> sint <v0> ... <v15>`,
//!   then `interrupts <n> hardirq <n> delivered <n>`; writing `message <cpu> <sint> <type>
//!   [<word> ...]` (at most 30 payload words) sends that SINT a message, `event <cpu> <sint>
//!   <flag>` signals an event flag (`EBUSY`: the CPU's queue of 16 messages is full; `ENXIO`: no event
//!   flags page); `clear` drops every message queued and not delivered.

use kernel::{
    debugfs::{
        Dir,
        File,
        Reader, //
    },
    fmt,
    prelude::*,
    uaccess::UserSliceReader,
};

use super::{
    fail::{
        Rule,
        When, //
    },
    hosted_synic,
    lock_machine,
    send,
    vp::{
        Instruction,
        Intercept, //
    },
    vtl0,
    MACHINE, //
};
use crate::ffi;

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
    #[pin]
    _freed: File<Freed>,
    #[pin]
    _inject: File<Inject>,
    #[pin]
    _auto_halt: File<AutoHalt>,
    #[pin]
    _async_calls: File<AsyncCalls>,
    #[pin]
    _fail: File<Fail>,
    #[pin]
    _deliveries: File<Deliveries>,
    #[pin]
    _time_ns: File<TimeNs>,
    #[pin]
    _scheduler: File<Scheduler>,
    #[pin]
    _vtl0: File<Vtl0>,
    #[pin]
    _synic: File<Synic>,
    #[pin]
    _el2: File<El2>,
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
            _freed <- dir.read_only_file(c"freed", Freed),
            _inject <- dir.write_only_file(c"inject", Inject),
            _auto_halt <- dir.read_write_file(c"auto_halt", AutoHalt),
            _async_calls <- dir.read_write_file(c"async_calls", AsyncCalls),
            _fail <- dir.read_write_file(c"fail", Fail),
            _deliveries <- dir.read_only_file(c"deliveries", Deliveries),
            _time_ns <- dir.read_only_file(c"time_ns", TimeNs),
            _scheduler <- dir.read_only_file(c"scheduler", Scheduler),
            _vtl0 <- dir.read_write_file(c"vtl0", Vtl0),
            _synic <- dir.read_write_file(c"synic", Synic),
            _el2 <- dir.read_write_file(c"el2", El2),
            _dir: dir,
        })
    }
}

/// The `calls` file.
struct Calls;

impl fmt::Debug for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = lock_machine();
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
        let machine = lock_machine();
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
        let machine = lock_machine();
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

/// The `freed` file.
struct Freed;

impl fmt::Debug for Freed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut machine = MACHINE.lock();
        let mut freed = 0u64;
        for p in machine.partitions.iter_mut() {
            p.slat.reachable_frames(|pfn| {
                // SAFETY: The shim only reads the count of the frame's page, if it has one.
                if unsafe { ffi::mshv_shim_pfn_is_free(pfn) } {
                    freed += 1;
                }
            });
        }
        writeln!(f, "{freed}")
    }
}

/// The `inject` file.
struct Inject;

/// What a line written to `inject` makes a VP's guest do.
enum Event {
    /// Take an intercept.
    Intercept(Intercept),
    /// Write `len` bytes of a value at a guest physical address, with an instruction.
    Write((u64, u32, u64), Instruction),
    /// Signal the end of its oldest level-triggered interrupt in service.
    Eoi,
    /// Leave a register with a value (what instructions that take no intercept did).
    Set(u32, [u64; 2]),
}

/// Parses a decimal or `0x` hexadecimal number.
fn number(word: Option<&str>) -> Result<u64> {
    let word = word.ok_or(EINVAL)?;
    match word.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => word.parse(),
    }
    .map_err(|_| EINVAL)
}

/// An access's instruction, from the words after it: `at <rip>`, `insn <hex bytes>` and `gva
/// <address>`, each at most once, in any order.
fn instruction<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<Instruction> {
    let mut insn = Instruction::default();
    let mut bytes = None;
    while let Some(word) = words.next() {
        match word {
            "at" if insn.at.is_none() => insn.at = Some(number(words.next())?),
            "gva" if insn.gva.is_none() => insn.gva = Some(number(words.next())?),
            "insn" if bytes.is_none() => bytes = Some(words.next().ok_or(EINVAL)?),
            _ => return Err(EINVAL),
        }
    }
    if let Some(hex) = bytes {
        let hex = hex.as_bytes();
        if hex.is_empty() || hex.len() % 2 != 0 || hex.len() / 2 > insn.bytes.len() {
            return Err(EINVAL);
        }
        let digit = |c: u8| char::from(c).to_digit(16).ok_or(EINVAL);
        for (i, pair) in hex.chunks(2).enumerate() {
            insn.bytes[i] = (digit(pair[0])? << 4 | digit(pair[1])?) as u8;
        }
        insn.len = (hex.len() / 2) as u8;
    }
    Ok(insn)
}

/// What user space wrote, as text in `buf`; `EINVAL` if it is longer or not UTF-8.
fn read_line<'a>(reader: &mut UserSliceReader, buf: &'a mut [u8]) -> Result<&'a str> {
    let n = reader.len();
    if n > buf.len() {
        return Err(EINVAL);
    }
    reader.read_slice(&mut buf[..n])?;
    core::str::from_utf8(&buf[..n]).map_err(|_| EINVAL)
}

impl Reader for Inject {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 256];
        let line = read_line(reader, &mut buf)?;
        let mut words = line.split_whitespace();
        let partition = number(words.next())?;
        let vp = u32::try_from(number(words.next())?).map_err(|_| EINVAL)?;
        let event = match words.next().ok_or(EINVAL)? {
            "io" => Event::Intercept(Intercept::IoWrite {
                port: u16::try_from(number(words.next())?).map_err(|_| EINVAL)?,
                // One byte: `al`.
                value: u8::try_from(number(words.next())?)
                    .map_err(|_| EINVAL)?
                    .into(),
                at: match words.next() {
                    Some("at") => Some(number(words.next())?),
                    Some(_) => return Err(EINVAL),
                    None => None,
                },
            }),
            "mmio" | "read" => Event::Intercept(Intercept::Access {
                gpa: number(words.next())?,
                write: None,
                insn: instruction(&mut words)?,
            }),
            "write" => {
                let gpa = number(words.next())?;
                let len = match number(words.next())? {
                    // Within one page.
                    len @ (1 | 2 | 4 | 8) if gpa % 4096 + len <= 4096 => len as u32,
                    _ => return Err(EINVAL),
                };
                let value = number(words.next())?;
                Event::Write((gpa, len, value), instruction(&mut words)?)
            }
            "halt" => Event::Intercept(Intercept::Halt),
            "exception" => Event::Intercept(Intercept::UnrecoverableException),
            "eoi" => Event::Eoi,
            "set" => {
                let name = u32::try_from(number(words.next())?).map_err(|_| EINVAL)?;
                let low = number(words.next())?;
                let high = words.next().map_or(Ok(0), |w| number(Some(w)))?;
                Event::Set(name, [low, high])
            }
            _ => return Err(EINVAL),
        };
        if words.next().is_some() {
            return Err(EINVAL);
        }
        let sent = {
            let mut machine = lock_machine();
            match event {
                Event::Intercept(i) => machine.inject(partition, vp, i)?,
                Event::Write(access, insn) => machine.guest_write(partition, vp, access, insn)?,
                Event::Eoi => machine.end_of_interrupt(partition, vp)?,
                Event::Set(name, value) => {
                    machine.guest_set_register(partition, vp, name, value)?
                }
            }
            send(&mut machine)
        };
        // The root's handler takes them in the SynIC's interrupt; the guest's act is over once
        // it has, so that a test sees what it caused (an eventfd signalled) when this returns.
        sent.map_or(Ok(()), hosted_synic::wait_delivered)
    }
}

/// The `auto_halt` file.
struct AutoHalt;

impl fmt::Debug for AutoHalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u8::from(MACHINE.lock().auto_halt))
    }
}

impl Reader for AutoHalt {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        MACHINE.lock().auto_halt = read_switch(reader)?;
        Ok(())
    }
}

/// The `async_calls` file.
struct AsyncCalls;

impl fmt::Debug for AsyncCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u8::from(MACHINE.lock().async_calls))
    }
}

impl Reader for AsyncCalls {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        MACHINE.lock().async_calls = read_switch(reader)?;
        Ok(())
    }
}

/// A 0 or 1 written to a switch file.
fn read_switch(reader: &mut UserSliceReader) -> Result<bool> {
    let mut buf = [0u8; 8];
    match read_line(reader, &mut buf)?.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(EINVAL),
    }
}

/// The `vtl0` file.
struct Vtl0;

impl fmt::Debug for Vtl0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use core::sync::atomic::Ordering::Relaxed;
        for (i, c) in vtl0::CPUS.iter().enumerate().take(vtl0::cpus()) {
            writeln!(
                f,
                "{i} program {} arg {} returns {} irqs {} {} actions {}",
                c.program.load(Relaxed),
                c.arg.load(Relaxed),
                vtl0::returns(i),
                c.raised_irqs.load(Relaxed),
                c.taken_irqs.load(Relaxed),
                c.actions.load(Relaxed)
            )?;
        }
        Ok(())
    }
}

impl Reader for Vtl0 {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        use core::sync::atomic::Ordering::Relaxed;
        let mut buf = [0u8; 64];
        let line = read_line(reader, &mut buf)?;
        let mut words = line.split_whitespace();
        let which = words.next().ok_or(EINVAL)?;
        let program = u32::try_from(number(words.next())?).map_err(|_| EINVAL)?;
        let arg = match words.next() {
            Some(w) => u32::try_from(number(Some(w))?).map_err(|_| EINVAL)?,
            None => 0,
        };
        if words.next().is_some() || program >= vtl0::program::COUNT {
            return Err(EINVAL);
        }
        let cpus = vtl0::cpus();
        let (first, end) = if which == "all" {
            (0, cpus)
        } else {
            let i = usize::try_from(number(Some(which))?).map_err(|_| EINVAL)?;
            (i, i.checked_add(1).ok_or(EINVAL)?)
        };
        if end > cpus {
            return Err(EINVAL);
        }
        for (i, c) in vtl0::CPUS[first..end].iter().enumerate() {
            c.arg.store(arg, Relaxed);
            c.program.store(program, Relaxed);
            // arm64: VTL0 is real code at EL1, which the machine's EL2 enters.
            #[cfg(CONFIG_ARM64)]
            super::el2::set_program(first + i, program, arg);
            #[cfg(not(CONFIG_ARM64))]
            let _ = i;
        }
        Ok(())
    }
}

/// The `el2` file: the machine's EL2 (arm64), see [`super::el2`]; elsewhere `installed 0`.
struct El2;

impl fmt::Debug for El2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(CONFIG_ARM64)]
        {
            super::el2::show(f)
        }
        #[cfg(not(CONFIG_ARM64))]
        {
            writeln!(f, "installed 0")
        }
    }
}

impl Reader for El2 {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 64];
        let line = read_line(reader, &mut buf)?;
        let mut words = line.split_whitespace();
        let what = words.next().ok_or(EINVAL)?;
        let value = match words.next() {
            Some(w) => number(Some(w))?,
            None => 0,
        };
        if words.next().is_some() {
            return Err(EINVAL);
        }
        #[cfg(CONFIG_ARM64)]
        {
            super::el2::steer(what, value)
        }
        #[cfg(not(CONFIG_ARM64))]
        {
            let _ = (what, value);
            Err(ENODEV)
        }
    }
}

/// The `synic` file.
struct Synic;

impl fmt::Debug for Synic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hosted_synic::show(f)
    }
}

impl Reader for Synic {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 512];
        let line = read_line(reader, &mut buf)?;
        let mut words = line.split_whitespace();
        let what = words.next().ok_or(EINVAL)?;
        if what == "clear" && words.next().is_none() {
            hosted_synic::forget();
            return Ok(());
        }
        let cpu = usize::try_from(number(words.next())?).map_err(|_| EINVAL)?;
        let sint = u32::try_from(number(words.next())?).map_err(|_| EINVAL)?;
        match what {
            "event" => {
                let flag = usize::try_from(number(words.next())?).map_err(|_| EINVAL)?;
                if words.next().is_some() {
                    return Err(EINVAL);
                }
                hosted_synic::signal(cpu, sint, flag)
            }
            "message" => {
                let mut message = crate::hv::abi::Message {
                    message_type: u32::try_from(number(words.next())?).map_err(|_| EINVAL)?,
                    ..crate::hv::abi::Message::EMPTY
                };
                let mut payload = message.payload;
                let mut n = 0;
                for word in words {
                    *payload.get_mut(n).ok_or(EINVAL)? = number(Some(word))?;
                    n += 1;
                }
                message.payload = payload;
                message.payload_size = (n * 8) as u8;
                if message.message_type == 0 {
                    return Err(EINVAL);
                }
                hosted_synic::send(cpu, sint, message)
            }
            _ => Err(EINVAL),
        }
    }
}

/// The `fail` file.
struct Fail;

impl fmt::Debug for Fail {
    /// The rules' lines (debugfs ends the last; no rule reads as one empty line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", MACHINE.lock().fail)
    }
}

impl Reader for Fail {
    fn read_from_slice(&self, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 128];
        let line = read_line(reader, &mut buf)?;
        let mut words = line.split_whitespace();
        let first = words.next().ok_or(EINVAL)?;
        if first == "clear" {
            if words.next().is_some() {
                return Err(EINVAL);
            }
            MACHINE.lock().fail.clear();
            return Ok(());
        }
        let small = |word: Option<&str>| u16::try_from(number(word)?).map_err(|_| EINVAL);
        let code = small(Some(first))?;
        let when = match words.next().ok_or(EINVAL)? {
            "every" => When::Every(number(words.next())?),
            "fraction" => When::Fraction {
                per_mille: u32::try_from(number(words.next())?).map_err(|_| EINVAL)?,
                seed: 0,
                state: 0,
            },
            nth => When::Nth(number(Some(nth))?),
        };
        let status = small(words.next())?;
        let when = match when {
            When::Fraction { per_mille, .. } => When::Fraction {
                per_mille,
                seed: number(words.next())?,
                state: 0,
            },
            when => when,
        };
        if words.next().is_some() {
            return Err(EINVAL);
        }
        let rule = Rule::new(code, when, status).ok_or(EINVAL)?;
        MACHINE.lock().fail.add(rule)
    }
}

/// The `scheduler` file.
struct Scheduler;

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", MACHINE.lock().scheduler)
    }
}

/// The `deliveries` file.
struct Deliveries;

/// The `time_ns` file.
struct TimeNs;

impl fmt::Debug for TimeNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let machine = super::MACHINE_NS.load(core::sync::atomic::Ordering::Relaxed);
        let (latency, handler) = hosted_synic::interrupt_times();
        writeln!(f, "machine {machine} latency {latency} handler {handler}")
    }
}

impl fmt::Debug for Deliveries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (delivered, hardirq) = hosted_synic::interrupts();
        writeln!(f, "delivered {delivered} hardirq {hardirq}")
    }
}
