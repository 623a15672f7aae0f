//! Capabilities a function never needs, dropped before it starts (when it runs as root or
//! with file capabilities): with them a process can route its traffic around the connect
//! checks (IP source routing with `CAP_NET_RAW`, tunnels and neighbours with `CAP_NET_ADMIN`)
//! or reach the kernel and other processes directly. The `capabilities` hardening group
//! exempts a function from this.

use rustix::thread::{self, CapabilitySet};

/// The capabilities dropped from the bounding, effective, permitted, inheritable and ambient
/// sets.
pub fn dangerous() -> CapabilitySet {
    CapabilitySet::NET_ADMIN
        | CapabilitySet::NET_RAW
        | CapabilitySet::SYS_ADMIN
        | CapabilitySet::SYS_PTRACE
        | CapabilitySet::SYS_MODULE
        | CapabilitySet::SYS_RAWIO
        | CapabilitySet::SYS_BOOT
        | CapabilitySet::SYS_TIME
        | CapabilitySet::SYS_TTY_CONFIG
        | CapabilitySet::MAC_ADMIN
        | CapabilitySet::MAC_OVERRIDE
        | CapabilitySet::BPF
        | CapabilitySet::PERFMON
        | CapabilitySet::AUDIT_CONTROL
        | CapabilitySet::SYSLOG
        | CapabilitySet::DAC_READ_SEARCH
        | CapabilitySet::LINUX_IMMUTABLE
        | CapabilitySet::CHECKPOINT_RESTORE
        | CapabilitySet::MKNOD
}

/// Drops [`dangerous`] capabilities from the calling thread (before the function is
/// executed). Returns a one-line summary for the start event.
pub fn drop_dangerous() -> String {
    let Ok(mut sets) = thread::capabilities(None) else {
        return "capabilities: could not be read".into();
    };
    let held = (sets.effective | sets.permitted | sets.inheritable) & dangerous();
    // The bounding set keeps an exec from regaining them (file capabilities).
    let mut bounding_failed = 0;
    for bit in 0..64u32 {
        let one = CapabilitySet::from_bits_retain(1u64 << bit);
        if dangerous().contains(one) && thread::remove_capability_from_bounding_set(one).is_err() {
            bounding_failed += 1;
        }
    }
    let _ = thread::clear_ambient_capability_set();
    if held.is_empty() {
        return if bounding_failed == 0 {
            "capabilities: none of the dangerous ones held; removed from the bounding set".into()
        } else {
            "capabilities: none of the dangerous ones held".into()
        };
    }
    sets.effective -= dangerous();
    sets.permitted -= dangerous();
    sets.inheritable -= dangerous();
    let names = names(held);
    match thread::set_capabilities(None, sets) {
        Ok(()) => format!("capabilities: dropped {names}"),
        Err(e) => format!("capabilities: could not drop {names}: {e}"),
    }
}

/// `CAP_NET_ADMIN, CAP_NET_RAW, …` for a set.
fn names(set: CapabilitySet) -> String {
    let mut out = Vec::new();
    for (name, cap) in set.iter_names() {
        if set.contains(cap) {
            out.push(format!("CAP_{name}"));
        }
    }
    out.join(", ")
}
