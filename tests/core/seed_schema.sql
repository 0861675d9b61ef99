-- The schema exactly as shared/seed/campaign-management-system.md writes it: its three
-- CREATE TABLE statements verbatim, its index list as CREATE INDEX statements, and the
-- minimal users/leads tables and CHECK constraints DESIGN.md asks for.
-- test_schema.py builds this in one database and the Alembic migrations in another,
-- then compares the two catalogs; it also checks these statements against the seed file.

CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(255),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL
);

CREATE TABLE leads (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) UNIQUE NOT NULL,
    name VARCHAR(255),
    company VARCHAR(255),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL
);

-- seed: campaigns
CREATE TABLE campaigns (
    id SERIAL PRIMARY KEY,
    campaign_id VARCHAR(100) UNIQUE NOT NULL,
    name VARCHAR(255) NOT NULL,
    template_id INTEGER,
    status VARCHAR(50) DEFAULT 'draft' NOT NULL,
    scheduled_at TIMESTAMP WITH TIME ZONE,
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    total_recipients INTEGER DEFAULT 0 NOT NULL,
    emails_sent INTEGER DEFAULT 0 NOT NULL,
    emails_opened INTEGER DEFAULT 0 NOT NULL,
    emails_clicked INTEGER DEFAULT 0 NOT NULL,
    emails_replied INTEGER DEFAULT 0 NOT NULL,
    emails_bounced INTEGER DEFAULT 0 NOT NULL,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL
);

-- seed: campaign_recipients
CREATE TABLE campaign_recipients (
    id SERIAL PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    lead_id INTEGER NOT NULL REFERENCES leads(id) ON DELETE CASCADE,
    email_address VARCHAR(255) NOT NULL,
    status VARCHAR(50) DEFAULT 'pending' NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE,
    opened_at TIMESTAMP WITH TIME ZONE,
    clicked_at TIMESTAMP WITH TIME ZONE,
    replied_at TIMESTAMP WITH TIME ZONE,
    bounced_at TIMESTAMP WITH TIME ZONE,
    error_message TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL,
    CONSTRAINT uq_campaign_recipients_campaign_lead UNIQUE(campaign_id, lead_id)
);

-- seed: email_tracking
CREATE TABLE email_tracking (
    id SERIAL PRIMARY KEY,
    campaign_recipient_id INTEGER NOT NULL REFERENCES campaign_recipients(id) ON DELETE CASCADE,
    event_type VARCHAR(50) NOT NULL,
    event_data JSONB,
    user_agent TEXT,
    ip_address INET,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL
);

CREATE UNIQUE INDEX ix_campaigns_campaign_id ON campaigns (campaign_id);
CREATE INDEX ix_campaigns_name ON campaigns (name);
CREATE INDEX ix_campaigns_status ON campaigns (status);
CREATE INDEX ix_campaigns_created_by ON campaigns (created_by);
CREATE INDEX ix_campaigns_scheduled_at ON campaigns (scheduled_at);
CREATE INDEX ix_campaigns_started_at ON campaigns (started_at);
CREATE INDEX ix_campaigns_created_at ON campaigns (created_at);

CREATE INDEX ix_campaign_recipients_campaign_id ON campaign_recipients (campaign_id);
CREATE INDEX ix_campaign_recipients_lead_id ON campaign_recipients (lead_id);
CREATE INDEX ix_campaign_recipients_email_address ON campaign_recipients (email_address);
CREATE INDEX ix_campaign_recipients_status ON campaign_recipients (status);
CREATE INDEX ix_campaign_recipients_sent_at ON campaign_recipients (sent_at);
CREATE INDEX ix_campaign_recipients_opened_at ON campaign_recipients (opened_at);
CREATE INDEX ix_campaign_recipients_clicked_at ON campaign_recipients (clicked_at);
CREATE INDEX ix_campaign_recipients_replied_at ON campaign_recipients (replied_at);
CREATE INDEX ix_campaign_recipients_bounced_at ON campaign_recipients (bounced_at);
CREATE INDEX ix_campaign_recipients_campaign_status ON campaign_recipients (campaign_id, status);

CREATE INDEX ix_email_tracking_campaign_recipient_id ON email_tracking (campaign_recipient_id);
CREATE INDEX ix_email_tracking_event_type ON email_tracking (event_type);
CREATE INDEX ix_email_tracking_ip_address ON email_tracking (ip_address);
CREATE INDEX ix_email_tracking_created_at ON email_tracking (created_at);
CREATE INDEX ix_email_tracking_recipient_event ON email_tracking (campaign_recipient_id, event_type);

ALTER TABLE campaigns ADD CONSTRAINT ck_campaigns_status
    CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'failed'));
ALTER TABLE campaign_recipients ADD CONSTRAINT ck_campaign_recipients_status
    CHECK (status IN ('pending', 'queued', 'sent', 'failed', 'bounced', 'unsubscribed'));
ALTER TABLE email_tracking ADD CONSTRAINT ck_email_tracking_event_type
    CHECK (event_type IN ('open', 'click', 'bounce', 'reply', 'forward', 'unsubscribe', 'complain'));
