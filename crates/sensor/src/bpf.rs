//! A small classic-BPF assembler for seccomp programs: instructions, labels, and the limits
//! the kernel enforces, checked before the program is installed so the user gets a clear
//! error instead of a bare `EINVAL`.
//!
//! Hand-rolled on purpose: seccompiler (Firecracker's) compiles rule sets but cannot express
//! `SECCOMP_RET_USER_NOTIF` or our per-argument decision order, and libseccomp needs a C
//! library in the Lambda layer.

use std::collections::HashMap;

/// One `struct sock_filter`.
pub type Insn = libc::sock_filter;

/// A finished program, ready for `seccomp(SECCOMP_SET_MODE_FILTER)`.
pub type Program = Vec<Insn>;

/// `BPF_MAXINSNS`: the kernel refuses longer programs.
pub const MAX_INSNS: usize = 4096;

// Opcodes (linux/filter.h, linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JGE_K: u16 = 0x35;
const JMP_JSET_K: u16 = 0x45;
const ALU_AND_K: u16 = 0x54;
const RET_K: u16 = 0x06;

/// Offsets in `struct seccomp_data`.
pub mod data {
    /// `nr`.
    pub const NR: u32 = 0;
    /// `arch`.
    pub const ARCH: u32 = 4;
    /// Low 32 bits of argument `i` (little-endian).
    pub const fn arg_lo(i: u8) -> u32 {
        16 + 8 * i as u32
    }
    /// High 32 bits of argument `i`.
    pub const fn arg_hi(i: u8) -> u32 {
        20 + 8 * i as u32
    }
}

/// A jump target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(u32);

#[derive(Debug, Clone, Copy)]
enum Target {
    Next,
    Label(Label),
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Fixed(Insn),
    Cond {
        code: u16,
        k: u32,
        jt: Target,
        jf: Target,
    },
    Ja(Label),
    Bind(Label),
}

/// Errors building a program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BpfError {
    /// More instructions than the kernel accepts.
    #[error("the seccomp program has {0} instructions; the kernel accepts at most {MAX_INSNS}")]
    TooLong(usize),
    /// A conditional jump further than 255 instructions (an assembler bug, not user input).
    #[error("a conditional jump spans {0} instructions (max 255)")]
    JumpTooFar(usize),
    /// A label used but never placed (an assembler bug).
    #[error("label {0} is used but never placed")]
    Unbound(u32),
}

/// Builds a program; conditional jumps go to the next instruction or a label within 255
/// instructions; `ja` reaches any label.
#[derive(Debug, Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: u32,
}

impl Asm {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh label, to be placed with [`Asm::bind`].
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels)
    }

    /// Places `l` at the next instruction.
    pub fn bind(&mut self, l: Label) {
        self.items.push(Item::Bind(l));
    }

    /// `A = *(u32 *)(seccomp_data + off)`.
    pub fn load(&mut self, off: u32) {
        self.items.push(Item::Fixed(stmt(LD_W_ABS, off)));
    }

    /// `A &= k`.
    pub fn and(&mut self, k: u32) {
        self.items.push(Item::Fixed(stmt(ALU_AND_K, k)));
    }

    /// `return k`.
    pub fn ret(&mut self, k: u32) {
        self.items.push(Item::Fixed(stmt(RET_K, k)));
    }

    /// `goto l`.
    pub fn ja(&mut self, l: Label) {
        self.items.push(Item::Ja(l));
    }

    fn cond(&mut self, code: u16, k: u32, jt: Option<Label>, jf: Option<Label>) {
        let t = |l: Option<Label>| l.map_or(Target::Next, Target::Label);
        self.items.push(Item::Cond {
            code,
            k,
            jt: t(jt),
            jf: t(jf),
        });
    }

    /// `if A == k goto jt else goto jf` (`None` = the next instruction).
    pub fn jeq(&mut self, k: u32, jt: Option<Label>, jf: Option<Label>) {
        self.cond(JMP_JEQ_K, k, jt, jf);
    }

    /// `if A >= k goto jt else goto jf`.
    pub fn jge(&mut self, k: u32, jt: Option<Label>, jf: Option<Label>) {
        self.cond(JMP_JGE_K, k, jt, jf);
    }

    /// `if A > k goto jt else goto jf`.
    pub fn jgt(&mut self, k: u32, jt: Option<Label>, jf: Option<Label>) {
        self.cond(JMP_JGT_K, k, jt, jf);
    }

    /// `if A & k goto jt else goto jf`.
    pub fn jset(&mut self, k: u32, jt: Option<Label>, jf: Option<Label>) {
        self.cond(JMP_JSET_K, k, jt, jf);
    }

    /// Resolves labels and checks the kernel's limits.
    pub fn finish(self) -> Result<Program, BpfError> {
        let mut at: HashMap<Label, usize> = HashMap::new();
        let mut n = 0usize;
        for item in &self.items {
            match item {
                Item::Bind(l) => {
                    at.insert(*l, n);
                }
                _ => n += 1,
            }
        }
        if n > MAX_INSNS {
            return Err(BpfError::TooLong(n));
        }
        let mut out = Vec::with_capacity(n);
        for item in &self.items {
            let pc = out.len();
            let resolve = |l: Label| at.get(&l).copied().ok_or(BpfError::Unbound(l.0));
            match *item {
                Item::Bind(_) => {}
                Item::Fixed(insn) => out.push(insn),
                Item::Ja(l) => {
                    let off = resolve(l)? - (pc + 1);
                    // `n <= MAX_INSNS`, so every offset fits in u32.
                    out.push(stmt(
                        JMP_JA,
                        u32::try_from(off).map_err(|_| BpfError::TooLong(n))?,
                    ));
                }
                Item::Cond { code, k, jt, jf } => {
                    let off = |t: Target| -> Result<u8, BpfError> {
                        match t {
                            Target::Next => Ok(0),
                            Target::Label(l) => {
                                let to = resolve(l)?;
                                let d = to.checked_sub(pc + 1).ok_or(BpfError::JumpTooFar(0))?;
                                u8::try_from(d).map_err(|_| BpfError::JumpTooFar(d))
                            }
                        }
                    };
                    out.push(libc::sock_filter {
                        code,
                        jt: off(jt)?,
                        jf: off(jf)?,
                        k,
                    });
                }
            }
        }
        Ok(out)
    }
}

fn stmt(code: u16, k: u32) -> Insn {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Runs a program over a `seccomp_data` the way the kernel does — for tests, so the
/// decision tree can be checked for every syscall without installing anything.
pub fn interpret(prog: &[Insn], nr: u32, arch: u32, args: [u64; 6]) -> Option<u32> {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let mut a: u32 = 0;
    let mut pc = 0usize;
    while pc < prog.len() {
        let insn = prog[pc];
        pc += 1;
        match insn.code {
            LD_W_ABS => {
                let off = insn.k as usize;
                let bytes = data.get(off..off + 4)?;
                a = u32::from_le_bytes(bytes.try_into().ok()?);
            }
            ALU_AND_K => a &= insn.k,
            RET_K => return Some(insn.k),
            JMP_JA => pc += insn.k as usize,
            JMP_JEQ_K | JMP_JGT_K | JMP_JGE_K | JMP_JSET_K => {
                let taken = match insn.code {
                    JMP_JEQ_K => a == insn.k,
                    JMP_JGT_K => a > insn.k,
                    JMP_JGE_K => a >= insn.k,
                    _ => a & insn.k != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_and_interpret() {
        let mut asm = Asm::new();
        let yes = asm.label();
        asm.load(data::NR);
        asm.jeq(7, Some(yes), None);
        asm.ret(1);
        asm.bind(yes);
        asm.ret(2);
        let prog = asm.finish().unwrap();
        assert_eq!(interpret(&prog, 7, 0, [0; 6]), Some(2));
        assert_eq!(interpret(&prog, 8, 0, [0; 6]), Some(1));
    }

    #[test]
    fn far_conditional_jump_is_an_error_not_a_wrap() {
        let mut asm = Asm::new();
        let far = asm.label();
        asm.load(data::NR);
        asm.jeq(1, Some(far), None);
        for _ in 0..300 {
            asm.ret(0);
        }
        asm.bind(far);
        asm.ret(1);
        assert!(matches!(asm.finish(), Err(BpfError::JumpTooFar(300))));
    }
}
