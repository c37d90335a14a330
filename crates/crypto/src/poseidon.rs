//! Poseidon over the BN254 scalar field, circom-compatible.
//!
//! The parameters (round constants, MDS matrices, 8 full rounds and width-dependent partial rounds,
//! x^5 S-box) are `light-poseidon`'s `new_circom` ones, so `hash(&[a, b])` equals circomlib's
//! `Poseidon(2)`. The permutation here is our own fixed-width, allocation-free version: it is the
//! hottest function of the node (every Merkle node is one call), and the in-circuit gadget mirrors
//! it round by round. A test checks it against `light-poseidon` for every width.
//!
//! Every call increments a process-wide counter ([`hash_count`]) so benchmarks can report hashes per
//! transaction against the ideal.

use ark_bn254::Fr;
use ark_ff::{Field, Zero};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest number of inputs a single Poseidon call takes (state width 13).
pub const MAX_INPUTS: usize = 12;

static HASHES: AtomicU64 = AtomicU64::new(0);

/// Number of Poseidon permutations computed by this process so far.
pub fn hash_count() -> u64 {
    HASHES.load(Ordering::Relaxed)
}

/// Round constants and MDS matrix for one state width `T`.
struct Params<const T: usize> {
    ark: Vec<[Fr; T]>,
    mds: [[Fr; T]; T],
    full_rounds: usize,
    partial_rounds: usize,
}

impl<const T: usize> Params<T> {
    fn load() -> Self {
        let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(T as u8)
            .expect("light-poseidon has parameters for widths 2..=13");
        assert_eq!(p.width, T);
        assert_eq!(p.alpha, 5);
        let ark = p
            .ark
            .chunks(T)
            .map(|c| <[Fr; T]>::try_from(c).expect("ark has width-sized rows"))
            .collect();
        let mut mds = [[Fr::zero(); T]; T];
        for (i, row) in p.mds.iter().enumerate() {
            mds[i].copy_from_slice(row);
        }
        Params {
            ark,
            mds,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
        }
    }
}

macro_rules! params_for {
    ($($t:literal),*) => {
        /// Per-width parameters, loaded once.
        trait Width<const T: usize> {
            fn params() -> &'static Params<T>;
        }
        struct W;
        $(
            impl Width<$t> for W {
                fn params() -> &'static Params<$t> {
                    static P: OnceLock<Params<$t>> = OnceLock::new();
                    P.get_or_init(Params::<$t>::load)
                }
            }
        )*
    };
}
params_for!(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);

#[inline(always)]
fn sbox(x: &mut Fr) {
    let x2 = x.square();
    let x4 = x2.square();
    *x *= x4;
}

#[inline(always)]
fn mds_mul<const T: usize>(state: &mut [Fr; T], mds: &[[Fr; T]; T]) {
    let mut out = [Fr::zero(); T];
    for (o, row) in out.iter_mut().zip(mds.iter()) {
        let mut acc = Fr::zero();
        for (s, m) in state.iter().zip(row.iter()) {
            acc += *s * m;
        }
        *o = acc;
    }
    *state = out;
}

/// The Poseidon permutation of width `T` over `state` (state[0] is the capacity element).
#[inline]
fn permute<const T: usize>(state: &mut [Fr; T])
where
    W: Width<T>,
{
    let p = <W as Width<T>>::params();
    let half = p.full_rounds / 2;
    let mut round = 0;
    let add_ark = |state: &mut [Fr; T], round: &mut usize| {
        for (s, c) in state.iter_mut().zip(p.ark[*round].iter()) {
            *s += c;
        }
        *round += 1;
    };
    for _ in 0..half {
        add_ark(state, &mut round);
        state.iter_mut().for_each(sbox);
        mds_mul(state, &p.mds);
    }
    for _ in 0..p.partial_rounds {
        add_ark(state, &mut round);
        sbox(&mut state[0]);
        mds_mul(state, &p.mds);
    }
    for _ in 0..half {
        add_ark(state, &mut round);
        state.iter_mut().for_each(sbox);
        mds_mul(state, &p.mds);
    }
    HASHES.fetch_add(1, Ordering::Relaxed);
}

#[inline]
fn hash_fixed<const N: usize, const T: usize>(inputs: &[Fr; N]) -> Fr
where
    W: Width<T>,
{
    debug_assert_eq!(N + 1, T);
    let mut state = [Fr::zero(); T];
    state[1..].copy_from_slice(inputs);
    permute::<T>(&mut state);
    state[0]
}

/// Poseidon of two inputs (width 3): binary nodes, public-key hashes.
pub fn hash2(a: Fr, b: Fr) -> Fr {
    hash_fixed::<2, 3>(&[a, b])
}

/// Poseidon of four inputs (width 5): the 4-ary Merkle node and the leaves.
pub fn hash4(inputs: &[Fr; 4]) -> Fr {
    hash_fixed::<4, 5>(inputs)
}

/// Poseidon of 1..=12 inputs, circom-compatible (`Poseidon(n)`).
///
/// # Panics
/// If `inputs` is empty or longer than [`MAX_INPUTS`] — a programming error, never input-driven.
pub fn hash(inputs: &[Fr]) -> Fr {
    macro_rules! dispatch {
        ($($n:literal => $t:literal),*) => {
            match inputs.len() {
                $($n => hash_fixed::<$n, $t>(inputs.try_into().expect("length matched")),)*
                n => panic!("Poseidon takes 1..={MAX_INPUTS} inputs, got {n}"),
            }
        };
    }
    dispatch!(1 => 2, 2 => 3, 3 => 4, 4 => 5, 5 => 6, 6 => 7, 7 => 8, 8 => 9, 9 => 10, 10 => 11,
              11 => 12, 12 => 13)
}

/// Hashes an arbitrary number of field elements by chaining: `h = Poseidon(h, x_1..x_11)` over
/// chunks of 11, starting from `h = length`. Used for variable-length data (link lists).
pub fn hash_chain(inputs: &[Fr]) -> Fr {
    let mut acc = Fr::from(inputs.len() as u64);
    for chunk in inputs.chunks(MAX_INPUTS - 1) {
        let mut buf = Vec::with_capacity(chunk.len() + 1);
        buf.push(acc);
        buf.extend_from_slice(chunk);
        acc = hash(&buf);
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::PrimeField;
    use light_poseidon::{Poseidon, PoseidonHasher};

    #[test]
    fn matches_light_poseidon_for_every_width() {
        for n in 1..=MAX_INPUTS {
            let inputs: Vec<Fr> = (0..n).map(|i| Fr::from((i * 7919 + 13) as u64)).collect();
            let mut reference = Poseidon::<Fr>::new_circom(n).unwrap();
            assert_eq!(
                hash(&inputs),
                reference.hash(&inputs).unwrap(),
                "width {}",
                n + 1
            );
        }
    }

    #[test]
    fn circomlib_reference_value() {
        // circomlib poseidon([1, 2]) — the published test vector.
        let expected = Fr::from_be_bytes_mod_order(&hex_literal(
            "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a",
        ));
        assert_eq!(hash2(Fr::from(1u8), Fr::from(2u8)), expected);
    }

    #[test]
    fn chain_depends_on_every_input_and_length() {
        let xs: Vec<Fr> = (0..30u64).map(Fr::from).collect();
        let h = hash_chain(&xs);
        let mut ys = xs.clone();
        ys[29] += Fr::from(1u8);
        assert_ne!(h, hash_chain(&ys));
        assert_ne!(
            hash_chain(&xs[..29]),
            hash_chain(&[&xs[..29], &[Fr::zero()]].concat())
        );
    }

    fn hex_literal(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
