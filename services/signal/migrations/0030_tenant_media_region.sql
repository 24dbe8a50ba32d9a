-- The region whose SFU nodes a tenant's meetings are placed on when one of
-- them can take the room (a hybrid deployment's sites); NULL: any region.
-- Written by the operator's tenant sync (Tenant spec.mediaRegion).
ALTER TABLE tenants ADD COLUMN media_region TEXT;
