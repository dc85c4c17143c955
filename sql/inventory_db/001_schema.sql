-- inventory_db: stock counters, reservations (the semantic lock) and the outbox.
-- available + reserved + confirmed only changes through PUT /api/inventory/{id}.

CREATE TABLE inventory (
    product_id BIGINT       NOT NULL,
    available  INT          NOT NULL,
    reserved   INT          NOT NULL DEFAULT 0,
    confirmed  INT          NOT NULL DEFAULT 0,
    version    INT          NOT NULL DEFAULT 0,
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                     ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (product_id),
    CONSTRAINT ck_inventory_available CHECK (available >= 0),
    CONSTRAINT ck_inventory_reserved CHECK (reserved >= 0),
    CONSTRAINT ck_inventory_confirmed CHECK (confirmed >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- One row per (saga, product). A CANCELLED row written before any reserve is a tombstone:
-- it makes a late reserve for that saga fail with ReservationCancelled.
CREATE TABLE inventory_reservations (
    saga_id    VARCHAR(128) NOT NULL,
    product_id BIGINT       NOT NULL,
    quantity   INT          NOT NULL,
    status     VARCHAR(16)  NOT NULL,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                     ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (saga_id, product_id),
    KEY ix_reservations_product (product_id, status),
    CONSTRAINT ck_reservations_quantity CHECK (quantity > 0),
    CONSTRAINT ck_reservations_status CHECK (status IN ('RESERVED', 'CONFIRMED', 'CANCELLED'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE outbox_events (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    aggregate_type VARCHAR(32)  NOT NULL,
    aggregate_id   VARCHAR(64)  NOT NULL,
    event_type     VARCHAR(64)  NOT NULL,
    payload        JSON         NOT NULL,
    created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    published_at   TIMESTAMP(3) NULL DEFAULT NULL,
    PRIMARY KEY (id),
    KEY ix_outbox_unpublished (published_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
