-- saga_transition: one saga state-machine transition (the optimistic UPDATE of saga_instance
-- and its one or two saga_step_log rows) as a single transaction behind a single CALL, so the
-- orchestrator pays one round trip and one commit per transition instead of six statements.
-- A stale version raises SQLSTATE 45000 (errno 1644) after rolling back.

DROP PROCEDURE IF EXISTS saga_transition;

DELIMITER //
CREATE PROCEDURE saga_transition(
    IN p_saga_id VARCHAR(128), IN p_version INT,
    IN p_status VARCHAR(16), IN p_step VARCHAR(32), IN p_last_forward INT, IN p_comp_index INT,
    IN p_order_id BIGINT, IN p_payment_id BIGINT,
    IN p_error_type VARCHAR(48), IN p_error_message VARCHAR(512),
    IN l1_step VARCHAR(32), IN l1_event VARCHAR(16), IN l1_attempt INT, IN l1_http_status INT,
    IN l1_error_type VARCHAR(48), IN l1_message VARCHAR(512),
    IN l2_step VARCHAR(32), IN l2_event VARCHAR(16))
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;
    START TRANSACTION;
    UPDATE saga_instance
       SET status = p_status, step = p_step, last_forward = p_last_forward,
           comp_index = p_comp_index, order_id = p_order_id, payment_id = p_payment_id,
           error_type = p_error_type, error_message = p_error_message, version = version + 1
     WHERE saga_id = p_saga_id AND version = p_version;
    IF ROW_COUNT() <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'saga_transition: stale version';
    END IF;
    INSERT INTO saga_step_log (saga_id, step, event, attempt, http_status, error_type, message)
    VALUES (p_saga_id, l1_step, l1_event, l1_attempt, l1_http_status, l1_error_type, l1_message);
    IF l2_step IS NOT NULL THEN
        INSERT INTO saga_step_log (saga_id, step, event, attempt)
        VALUES (p_saga_id, l2_step, l2_event, 0);
    END IF;
    COMMIT;
END//
DELIMITER ;
