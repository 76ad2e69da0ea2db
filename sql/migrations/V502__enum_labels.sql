-- Chinese labels of the enum values supervisors see (issue 16): filled from supervision.labels (the one
-- definition, beside the contract) by supervision.labels.load_labels, so SQL users get the same words as the
-- portal: JOIN marts.enum_label l ON l.field = 'reconsideration_outcome' AND l.enum_value = r.outcome.
CREATE TABLE marts.enum_label (
    field text NOT NULL,
    enum_value text NOT NULL,
    zh    text NOT NULL,
    PRIMARY KEY (field, enum_value)
);
COMMENT ON TABLE marts.enum_label IS
    '枚举值中文名称: the Chinese label of every enum value (field, enum_value -> zh), from supervision/labels.py';
GRANT SELECT ON marts.enum_label TO supervision_supervisor, supervision_pipeline;  -- no division data
