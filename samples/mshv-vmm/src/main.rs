// SPDX-License-Identifier: GPL-2.0

//! A sample virtual machine monitor on `/dev/mshv`, written against rust-vmm's `mshv-ioctls`
//! as Cloud Hypervisor is.
//!
//! It creates a partition with the v2 arguments (explicit processor-feature banks), gives it
//! 2 MiB of guest memory, creates two VPs, sets their registers, runs each on its own thread
//! and handles their intercepts (a serial port at 0x3f8, halt), then tears everything down.
//!
//! Where the driver runs over its simulated hypervisor (which executes no guest code), the
//! sample also plays each VP's guest, through the simulator's debugfs `inject` file: VP n
//! writes its greeting to the serial port one byte at a time, then halts.

use std::{
    fs::OpenOptions,
    io::Write,
    sync::{Arc, Mutex},
    thread,
};

use mshv_bindings::*;
use mshv_ioctls::{Mshv, VcpuFd, VmFd};

const SERIAL_PORT: u16 = 0x3f8;
const IO_PORT_INTERCEPT: u32 = hv_message_type_HVMSG_X64_IO_PORT_INTERCEPT;
const HALT: u32 = hv_message_type_HVMSG_X64_HALT;
const GUEST_MEMORY: usize = 2 << 20;
const GUEST_BASE_GFN: u64 = 0x100;
const ENTRY: u64 = GUEST_BASE_GFN << 12;
const INJECT: &str = "/sys/kernel/debug/mshv_sim/inject";
const PARTITIONS: &str = "/sys/kernel/debug/mshv_sim/partitions";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The v2 create-partition arguments: LAPIC and x2APIC, both feature banks given explicitly
/// (a set bit disables the feature) and, on x86_64, no XSAVE feature disabled.
fn partition_args() -> mshv_create_partition_v2 {
    mshv_create_partition_v2 {
        pt_flags: 1 << MSHV_PT_BIT_LAPIC
            | 1 << MSHV_PT_BIT_X2APIC
            | 1 << MSHV_PT_BIT_CPU_AND_XSAVE_FEATURES,
        pt_isolation: MSHV_PT_ISOLATION_NONE as u64,
        pt_num_cpu_fbanks: MSHV_NUM_CPU_FEATURES_BANKS as u16,
        pt_cpu_fbanks: [0, 0xffff_ffff_0000_0000],
        ..Default::default()
    }
}

fn set_rip(vcpu: &VcpuFd, rip: u64) -> Result<(), Error> {
    vcpu.set_reg(&[hv_register_assoc {
        name: hv_register_name_HV_X64_REGISTER_RIP,
        value: hv_register_value { reg64: rip },
        ..Default::default()
    }])?;
    Ok(())
}

/// Runs one VP until its guest halts; returns what it wrote to the serial port.
fn run_vp(index: u8, vcpu: VcpuFd, console: Arc<Mutex<String>>) -> Result<String, Error> {
    let mut written = String::new();
    loop {
        let message = vcpu.run()?;
        match message.header.message_type {
            IO_PORT_INTERCEPT => {
                let io = message.to_ioport_info()?;
                let (port, value, rip, len) = (
                    io.port_number,
                    io.rax as u8 as char,
                    io.header.rip,
                    io.header.instruction_length(),
                );
                if port == SERIAL_PORT {
                    written.push(value);
                    console.lock().unwrap().push(value);
                }
                // Past the `out` instruction.
                set_rip(&vcpu, rip + u64::from(len))?;
            }
            HALT => {
                println!("VP{index}: halted after writing {written:?}");
                return Ok(written);
            }
            other => return Err(format!("VP{index}: unexpected intercept {other:#x}").into()),
        }
    }
}

/// The newest partition the simulated hypervisor knows: the one just created.
fn simulated_partition() -> Option<u64> {
    let list = match std::fs::read_to_string(PARTITIONS) {
        Ok(list) => list,
        Err(e) => {
            println!("{PARTITIONS}: {e}");
            return None;
        }
    };
    let newest = list.lines().filter(|line| !line.is_empty()).last()?;
    newest.split_whitespace().next()?.parse().ok()
}

/// Plays the guests' part on the simulated hypervisor: each VP writes `greetings[n]`, then
/// halts.
fn play_guests(partition: u64, greetings: &[&str]) -> Result<(), Error> {
    let mut inject = OpenOptions::new().write(true).open(INJECT)?;
    for (vp, text) in greetings.iter().enumerate() {
        for byte in text.bytes() {
            inject.write_all(format!("{partition} {vp} io {SERIAL_PORT} {byte}").as_bytes())?;
        }
        inject.write_all(format!("{partition} {vp} halt").as_bytes())?;
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let mshv = Mshv::new()?;
    let vm: VmFd = mshv.create_vm_with_args(&partition_args())?;
    let banks = { partition_args().pt_cpu_fbanks };
    println!(
        "partition created (v2, disabled features {:#x}, {:#x})",
        banks[0], banks[1]
    );
    vm.initialize()?;

    // SAFETY: A fresh anonymous mapping, unmapped at the end after the partition is gone.
    let memory = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            GUEST_MEMORY,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if memory == libc::MAP_FAILED {
        return Err("mmap failed".into());
    }
    vm.map_user_memory(mshv_user_mem_region {
        size: GUEST_MEMORY as u64,
        guest_pfn: GUEST_BASE_GFN,
        userspace_addr: memory as u64,
        flags: 1 << MSHV_SET_MEM_BIT_WRITABLE | 1 << MSHV_SET_MEM_BIT_EXECUTABLE,
        ..Default::default()
    })?;
    println!("{} KiB of guest memory at {ENTRY:#x}", GUEST_MEMORY >> 10);

    let greetings = ["Hello from VP0\n", "Hello from VP1\n"];
    let console = Arc::new(Mutex::new(String::new()));
    let mut runners = Vec::new();
    for index in 0..greetings.len() as u8 {
        let vcpu = vm.create_vcpu(index)?;
        set_rip(&vcpu, ENTRY)?;
        let console = console.clone();
        runners.push(thread::spawn(move || run_vp(index, vcpu, console)));
    }
    println!("{} VPs running", runners.len());

    match simulated_partition() {
        Some(partition) => play_guests(partition, &greetings)?,
        None => {
            // The VPs would wait for guests that are not there.
            println!("no simulated hypervisor: the guests would have to run real code");
            std::process::exit(2);
        }
    }

    let mut ok = true;
    for (runner, want) in runners.into_iter().zip(greetings) {
        match runner.join().expect("VP thread") {
            Ok(written) if written == want => {}
            Ok(written) => {
                println!("expected {want:?}, got {written:?}");
                ok = false;
            }
            Err(e) => {
                println!("{e}");
                ok = false;
            }
        }
    }

    vm.unmap_user_memory(mshv_user_mem_region {
        size: GUEST_MEMORY as u64,
        guest_pfn: GUEST_BASE_GFN,
        userspace_addr: memory as u64,
        flags: 1 << MSHV_SET_MEM_BIT_UNMAP,
        ..Default::default()
    })?;
    drop(vm);
    // SAFETY: The mapping made above; nothing uses it any more.
    unsafe { libc::munmap(memory, GUEST_MEMORY) };
    println!(
        "serial console (both VPs' writes, as they came): {:?}",
        console.lock().unwrap()
    );
    println!(
        "{}",
        if ok {
            "sample VMM: done"
        } else {
            "sample VMM: FAILED"
        }
    );
    if ok {
        Ok(())
    } else {
        Err("a VP did not do what its guest should have".into())
    }
}
