-- 004: saga_instance stores saga_machine.h's durable state (docs/saga.md, "orchestrator-pure"):
-- the phase (FORWARD and CONFIRMING are both status RUNNING), which of the three concurrent
-- confirms ended, which confirm or compensation was refused for good, and whether a cancel was
-- accepted. saga_advance replaces saga_transition: one transition with up to four saga_step_log
-- rows (the pivot logs ApprovePayment and the three confirms it starts) behind one CALL.

ALTER TABLE saga_instance
    ADD COLUMN phase            VARCHAR(16) NOT NULL DEFAULT 'FORWARD' AFTER status,
    ADD COLUMN confirms_done    INT         NOT NULL DEFAULT 0 AFTER comp_index,
    ADD COLUMN refused          INT         NOT NULL DEFAULT 0 AFTER confirms_done,
    ADD COLUMN cancel_requested TINYINT     NOT NULL DEFAULT 0 AFTER refused;

-- Sagas stored by the previous version ran the confirms one at a time, in order: one RUNNING at
-- a confirm has ended the confirms before it (bit 1 << step: ConfirmOrder 16,
-- ConfirmReservation 32). last_forward counted the confirms too; now it stops at the pivot.
UPDATE saga_instance
   SET phase = CASE
           WHEN status = 'RUNNING'
                AND step IN ('ConfirmOrder', 'ConfirmReservation', 'ConfirmPayment') THEN 'CONFIRMING'
           WHEN status = 'RUNNING' THEN 'FORWARD'
           ELSE status
       END,
       confirms_done = CASE
           WHEN status = 'RUNNING' AND step = 'ConfirmReservation' THEN 16
           WHEN status = 'RUNNING' AND step = 'ConfirmPayment' THEN 48
           ELSE 0
       END,
       last_forward = LEAST(last_forward, 3);

ALTER TABLE saga_instance DROP CONSTRAINT ck_saga_instance_status;
ALTER TABLE saga_instance ADD CONSTRAINT ck_saga_instance_status
    CHECK (status IN ('RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'));
ALTER TABLE saga_instance ADD CONSTRAINT ck_saga_instance_phase
    CHECK (phase IN ('FORWARD', 'CONFIRMING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED',
                     'FAILED'));

DROP PROCEDURE IF EXISTS saga_transition;
DROP PROCEDURE IF EXISTS saga_advance;

-- The optimistic UPDATE of saga_instance and its log rows (l1 required, l2..l4 when their step
-- is not NULL) as one transaction. A stale version raises SQLSTATE 45000 (errno 1644) after
-- rolling back.
DELIMITER //
CREATE PROCEDURE saga_advance(
    IN p_saga_id VARCHAR(128), IN p_version INT,
    IN p_status VARCHAR(16), IN p_phase VARCHAR(16), IN p_step VARCHAR(32),
    IN p_last_forward INT, IN p_comp_index INT, IN p_confirms_done INT, IN p_refused INT,
    IN p_cancel_requested TINYINT, IN p_order_id BIGINT, IN p_payment_id BIGINT,
    IN p_error_type VARCHAR(48), IN p_error_message VARCHAR(512),
    IN l1_step VARCHAR(32), IN l1_event VARCHAR(16), IN l1_attempt INT, IN l1_http_status INT,
    IN l1_error_type VARCHAR(48), IN l1_message VARCHAR(512),
    IN l2_step VARCHAR(32), IN l2_event VARCHAR(16), IN l2_attempt INT, IN l2_http_status INT,
    IN l2_error_type VARCHAR(48), IN l2_message VARCHAR(512),
    IN l3_step VARCHAR(32), IN l3_event VARCHAR(16), IN l3_attempt INT, IN l3_http_status INT,
    IN l3_error_type VARCHAR(48), IN l3_message VARCHAR(512),
    IN l4_step VARCHAR(32), IN l4_event VARCHAR(16), IN l4_attempt INT, IN l4_http_status INT,
    IN l4_error_type VARCHAR(48), IN l4_message VARCHAR(512))
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;
    START TRANSACTION;
    UPDATE saga_instance
       SET status = p_status, phase = p_phase, step = p_step, last_forward = p_last_forward,
           comp_index = p_comp_index, confirms_done = p_confirms_done, refused = p_refused,
           cancel_requested = p_cancel_requested, order_id = p_order_id,
           payment_id = p_payment_id, error_type = p_error_type,
           error_message = p_error_message, version = version + 1
     WHERE saga_id = p_saga_id AND version = p_version;
    IF ROW_COUNT() <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'saga_advance: stale version';
    END IF;
    INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type, message)
    VALUES (p_saga_id, l1_step, l1_event, l1_attempt, l1_http_status, l1_error_type, l1_message);
    IF l2_step IS NOT NULL THEN
        INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type, message)
        VALUES (p_saga_id, l2_step, l2_event, l2_attempt, l2_http_status, l2_error_type,
                l2_message);
    END IF;
    IF l3_step IS NOT NULL THEN
        INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type, message)
        VALUES (p_saga_id, l3_step, l3_event, l3_attempt, l3_http_status, l3_error_type,
                l3_message);
    END IF;
    IF l4_step IS NOT NULL THEN
        INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type, message)
        VALUES (p_saga_id, l4_step, l4_event, l4_attempt, l4_http_status, l4_error_type,
                l4_message);
    END IF;
    COMMIT;
END//
DELIMITER ;
