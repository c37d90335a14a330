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

/// Parameters for one state width `T`, rewritten for speed without changing the permutation:
///
/// 1. *Constant folding*: in a partial round only `state[0]` passes the S-box, so the round
///    constants of the other elements commute with it and are pushed through the MDS matrix into
///    the next round; each partial round then adds one scalar.
/// 2. *Sparse factorisation*: each partial round's matrix `A = S·P` with
///    `P = diag(1, A[1..,1..])` (which commutes with a partial round's S-box and scalar add) and `S`
///    sparse (first row, first column, identity elsewhere). `P` is pushed back into the previous
///    round, ending in the last full round before the partial rounds, whose matrix becomes dense
///    `P·M` (it was dense anyway). A partial round then costs 2T−1 multiplications instead of T².
///
/// A test checks the result against `light-poseidon` for every width.
struct Params<const T: usize> {
    first_ark: Vec<[Fr; T]>,
    pre_partial_mds: Matrix<T>,
    partial_ark: Vec<Fr>,
    sparse: Vec<Sparse<T>>,
    second_ark: Vec<[Fr; T]>,
    mds: Matrix<T>,
}

/// `S = [[a00, row], [col, I]]` (index 0 of `row`/`col` unused).
struct Sparse<const T: usize> {
    a00: Fr,
    row: [Fr; T],
    col: [Fr; T],
}

type Matrix<const T: usize> = [[Fr; T]; T];

fn identity<const T: usize>() -> Matrix<T> {
    let mut id = [[Fr::zero(); T]; T];
    (0..T).for_each(|i| id[i][i] = Fr::from(1u8));
    id
}

fn mat_mul<const T: usize>(a: &Matrix<T>, b: &Matrix<T>) -> Matrix<T> {
    let mut out = [[Fr::zero(); T]; T];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            *o = (0..T).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn mat_vec<const T: usize>(m: &Matrix<T>, v: &[Fr; T]) -> [Fr; T] {
    let mut out = [Fr::zero(); T];
    for (o, row) in out.iter_mut().zip(m.iter()) {
        *o = row.iter().zip(v.iter()).map(|(a, b)| *a * b).sum();
    }
    out
}

/// Inverse of the lower-right (T−1)×(T−1) block of `m`, embedded in a T×T matrix (index 0 unused).
fn inverse_lower_block<const T: usize>(m: &Matrix<T>) -> Matrix<T> {
    let n = T - 1;
    let mut a: Vec<Vec<Fr>> = (0..n).map(|i| m[i + 1][1..].to_vec()).collect();
    let mut inv: Vec<Vec<Fr>> = (0..n)
        .map(|i| (0..n).map(|j| Fr::from((i == j) as u8)).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n)
            .find(|&r| !a[r][col].is_zero())
            .expect("MDS blocks are invertible");
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col].inverse().expect("non-zero pivot");
        for j in 0..n {
            a[col][j] *= p;
            inv[col][j] *= p;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..n {
                    let (x, y) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * x;
                    inv[r][j] -= f * y;
                }
            }
        }
    }
    let mut out = [[Fr::zero(); T]; T];
    for i in 0..n {
        out[i + 1][1..].copy_from_slice(&inv[i]);
    }
    out
}

impl<const T: usize> Params<T> {
    fn load() -> Self {
        let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(T as u8)
            .expect("light-poseidon has parameters for widths 2..=13");
        assert_eq!(p.width, T);
        assert_eq!(p.alpha, 5);
        let mut ark: Vec<[Fr; T]> = p
            .ark
            .chunks(T)
            .map(|c| <[Fr; T]>::try_from(c).expect("ark has width-sized rows"))
            .collect();
        let mut mds = [[Fr::zero(); T]; T];
        for (i, row) in p.mds.iter().enumerate() {
            mds[i].copy_from_slice(row);
        }
        let half = p.full_rounds / 2;
        let partial = half..half + p.partial_rounds;

        // 1. Constant folding, forward through the partial rounds.
        for r in partial.clone() {
            let mut rest = ark[r];
            rest[0] = Fr::zero();
            ark[r][1..].iter_mut().for_each(|c| *c = Fr::zero());
            let carry = mat_vec(&mds, &rest);
            for (c, x) in ark[r + 1].iter_mut().zip(carry) {
                *c += x;
            }
        }
        let partial_ark: Vec<Fr> = partial.clone().map(|r| ark[r][0]).collect();

        // 2. Sparse factorisation, backward through the partial rounds.
        let mut sparse = Vec::with_capacity(p.partial_rounds);
        let mut pushed = identity::<T>();
        for _ in partial.clone() {
            let a = mat_mul(&pushed, &mds);
            let b_inv = inverse_lower_block(&a);
            let mut row = [Fr::zero(); T];
            for (j, r) in row.iter_mut().enumerate().skip(1) {
                *r = (1..T).map(|k| a[0][k] * b_inv[k][j]).sum();
            }
            let mut col = [Fr::zero(); T];
            for (i, c) in col.iter_mut().enumerate().skip(1) {
                *c = a[i][0];
            }
            sparse.push(Sparse {
                a00: a[0][0],
                row,
                col,
            });
            pushed = identity::<T>();
            for i in 1..T {
                pushed[i][1..].copy_from_slice(&a[i][1..]);
            }
        }
        sparse.reverse();
        Params {
            first_ark: ark[..half].to_vec(),
            pre_partial_mds: mat_mul(&pushed, &mds),
            partial_ark,
            sparse,
            second_ark: ark[partial.end..].to_vec(),
            mds,
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
    let add = |state: &mut [Fr; T], c: &[Fr; T]| {
        for (s, c) in state.iter_mut().zip(c.iter()) {
            *s += c;
        }
    };
    let last_first = p.first_ark.len() - 1;
    for (r, c) in p.first_ark.iter().enumerate() {
        add(state, c);
        state.iter_mut().for_each(sbox);
        mds_mul(
            state,
            if r == last_first {
                &p.pre_partial_mds
            } else {
                &p.mds
            },
        );
    }
    for (c, s) in p.partial_ark.iter().zip(p.sparse.iter()) {
        state[0] += c;
        sbox(&mut state[0]);
        let x0 = state[0];
        let mut y0 = s.a00 * x0;
        for ((x, r), c) in state.iter_mut().zip(&s.row).zip(&s.col).skip(1) {
            y0 += *r * *x;
            *x += *c * x0;
        }
        state[0] = y0;
    }
    for c in &p.second_ark {
        add(state, c);
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

/// The round schedule of the permutation for `inputs` inputs, in the optimised form the native
/// code runs (see [`Params`]): the in-circuit gadget walks the same rounds, so the two are twins
/// round by round.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// State width (inputs + 1).
    pub width: usize,
    /// Round constants of the first full rounds.
    pub first_ark: Vec<Vec<Fr>>,
    /// Matrix of the last first-half full round (dense `P·M`).
    pub pre_partial_mds: Vec<Vec<Fr>>,
    /// Scalar constant added to `state[0]` in each partial round.
    pub partial_ark: Vec<Fr>,
    /// Sparse matrix of each partial round: `(a00, row, col)`, index 0 of `row`/`col` unused.
    pub sparse: Vec<(Fr, Vec<Fr>, Vec<Fr>)>,
    /// Round constants of the last full rounds.
    pub second_ark: Vec<Vec<Fr>>,
    /// The MDS matrix.
    pub mds: Vec<Vec<Fr>>,
}

fn schedule_of<const T: usize>() -> Schedule
where
    W: Width<T>,
{
    let p = <W as Width<T>>::params();
    let rows = |m: &Matrix<T>| m.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    Schedule {
        width: T,
        first_ark: p.first_ark.iter().map(|r| r.to_vec()).collect(),
        pre_partial_mds: rows(&p.pre_partial_mds),
        partial_ark: p.partial_ark.clone(),
        sparse: p
            .sparse
            .iter()
            .map(|s| (s.a00, s.row.to_vec(), s.col.to_vec()))
            .collect(),
        second_ark: p.second_ark.iter().map(|r| r.to_vec()).collect(),
        mds: rows(&p.mds),
    }
}

/// The schedule for 1..=[`MAX_INPUTS`] inputs.
pub fn schedule(inputs: usize) -> Schedule {
    match inputs {
        1 => schedule_of::<2>(),
        2 => schedule_of::<3>(),
        3 => schedule_of::<4>(),
        4 => schedule_of::<5>(),
        5 => schedule_of::<6>(),
        6 => schedule_of::<7>(),
        7 => schedule_of::<8>(),
        8 => schedule_of::<9>(),
        9 => schedule_of::<10>(),
        10 => schedule_of::<11>(),
        11 => schedule_of::<12>(),
        12 => schedule_of::<13>(),
        n => panic!("Poseidon takes 1..={MAX_INPUTS} inputs, got {n}"),
    }
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

    fn hex_literal(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
