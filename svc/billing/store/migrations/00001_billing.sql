-- +goose Up
CREATE TABLE invoice_sequences (
    year INT NOT NULL PRIMARY KEY,
    last_number BIGINT NOT NULL
) ENGINE=InnoDB;

CREATE TABLE invoices (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    patient_id BIGINT NOT NULL,
    invoice_number VARCHAR(32) NOT NULL,
    issue_date DATE NOT NULL,
    due_date DATE NOT NULL,
    sub_total_amount DECIMAL(14,2) NOT NULL,
    tax_amount DECIMAL(14,2) NOT NULL DEFAULT 0,
    discount_amount DECIMAL(14,2) NOT NULL DEFAULT 0,
    total_amount DECIMAL(14,2) NOT NULL,
    amount_paid_by_patient DECIMAL(14,2) NOT NULL DEFAULT 0,
    amount_paid_by_insurance DECIMAL(14,2) NOT NULL DEFAULT 0,
    status VARCHAR(20) NOT NULL,
    related_appointment_id BIGINT NULL,
    related_prescription_dispense_id VARCHAR(64) NULL,
    related_lab_order_id VARCHAR(64) NULL,
    status_reason VARCHAR(500) NOT NULL DEFAULT '',
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_invoice_number (invoice_number),
    -- Exactly one invoice per source, whatever the callers' keys.
    UNIQUE KEY uq_invoice_appointment (related_appointment_id),
    UNIQUE KEY uq_invoice_dispense (related_prescription_dispense_id),
    UNIQUE KEY uq_invoice_lab_order (related_lab_order_id),
    KEY ix_invoice_patient (patient_id, issue_date),
    KEY ix_invoice_status_due (status, due_date),
    KEY ix_invoice_issue (issue_date)
) ENGINE=InnoDB;

CREATE TABLE invoice_items (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    invoice_id BIGINT NOT NULL,
    item_type VARCHAR(50) NOT NULL,
    description VARCHAR(255) NOT NULL,
    quantity DECIMAL(12,2) NOT NULL DEFAULT 1,
    unit_price DECIMAL(14,2) NOT NULL,
    total_price DECIMAL(14,2) NOT NULL,
    CONSTRAINT fk_item_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id)
) ENGINE=InnoDB;

CREATE TABLE payments (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    invoice_id BIGINT NULL,
    patient_id BIGINT NOT NULL,
    payment_date DATETIME(6) NOT NULL,
    amount DECIMAL(14,2) NOT NULL,
    payment_method VARCHAR(50) NOT NULL,
    transaction_id VARCHAR(100) NULL,
    status VARCHAR(20) NOT NULL,
    notes TEXT NOT NULL,
    -- A PENDING card payment keeps what is needed to ask the gateway again:
    -- the gateway's token for the card (never card data) and the client's
    -- idempotency key. Cleared once the payment is settled.
    gateway_token VARCHAR(255) NULL,
    idem_scope VARCHAR(100) NULL,
    idem_key VARCHAR(200) NULL,
    CONSTRAINT fk_payment_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id),
    KEY ix_payment_status (status, payment_method, payment_date)
) ENGINE=InnoDB;

CREATE TABLE insurance_policies (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    patient_id BIGINT NOT NULL,
    insurance_provider_id BIGINT NULL,
    provider_name VARCHAR(100) NOT NULL,
    policy_number VARCHAR(100) NOT NULL,
    member_id VARCHAR(100) NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE NOT NULL,
    coverage_details_json JSON NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_policy_number (policy_number),
    KEY ix_policy_patient (patient_id),
    KEY ix_policy_provider (insurance_provider_id)
) ENGINE=InnoDB;

CREATE TABLE insurance_claims (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    invoice_id BIGINT NOT NULL,
    insurance_policy_id BIGINT NOT NULL,
    submission_date DATE NOT NULL,
    claim_amount DECIMAL(14,2) NOT NULL,
    approved_amount DECIMAL(14,2) NULL,
    rejected_amount DECIMAL(14,2) NULL,
    status VARCHAR(30) NOT NULL,
    insurer_notes TEXT NOT NULL,
    hospital_notes TEXT NOT NULL,
    -- "<invoice>:<policy>" while the claim is open, NULL once REJECTED or
    -- CLOSED: one open claim per invoice and policy.
    open_slot VARCHAR(64) NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_claim_open (open_slot),
    KEY ix_claim_status (status),
    CONSTRAINT fk_claim_invoice FOREIGN KEY (invoice_id) REFERENCES invoices (id),
    CONSTRAINT fk_claim_policy FOREIGN KEY (insurance_policy_id) REFERENCES insurance_policies (id)
) ENGINE=InnoDB;

CREATE TABLE insurance_claim_events (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    claim_id BIGINT NOT NULL,
    from_status VARCHAR(30) NOT NULL,
    to_status VARCHAR(30) NOT NULL,
    actor_user_id BIGINT NOT NULL,
    actor_role VARCHAR(30) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT fk_event_claim FOREIGN KEY (claim_id) REFERENCES insurance_claims (id)
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE insurance_claim_events;
DROP TABLE insurance_claims;
DROP TABLE insurance_policies;
DROP TABLE payments;
DROP TABLE invoice_items;
DROP TABLE invoices;
DROP TABLE invoice_sequences;
