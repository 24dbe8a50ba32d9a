-- Interpretation (issue 15): the default tenant of a single-tenant install
-- has every feature on, interpretation included, as a new one gets in
-- store.rs.
UPDATE tenants SET features = '{"recording":true,"streaming":true,"sip":true,"webinar":true,"interpretation":true}'
    WHERE id = 'default' AND features = '{"recording":true,"streaming":true,"sip":true,"webinar":true}';
