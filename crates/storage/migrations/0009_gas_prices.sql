-- Each chain's gas price (wei, decimal string) as its driver last read it (`eth_gasPrice`), with
-- when (Unix ms): the API prices fees from it (crates/node/src/fees.rs), on every replica alike.
CREATE TABLE gas_prices (
    chain BIGINT PRIMARY KEY,
    wei TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
