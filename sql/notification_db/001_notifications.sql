-- notification_db: one row per order event read from the stream. event_id is UNIQUE, so an
-- entry delivered twice (redelivery, claim, a relay publishing again) is stored once.

CREATE TABLE notifications (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    event_id       VARCHAR(128) NOT NULL,
    stream_id      VARCHAR(64)  NOT NULL,
    event_type     VARCHAR(64)  NOT NULL,
    aggregate_type VARCHAR(32)  NULL,
    aggregate_id   VARCHAR(64)  NULL,
    service        VARCHAR(64)  NULL,
    order_id       BIGINT       NULL,
    saga_id        VARCHAR(128) NULL,
    message        VARCHAR(512) NOT NULL,
    payload        TEXT         NOT NULL,
    created_at     TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uk_notifications_event_id (event_id),
    KEY ix_notifications_order (order_id, id),
    KEY ix_notifications_saga (saga_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
