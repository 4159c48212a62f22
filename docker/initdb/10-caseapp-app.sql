-- The application's role: it owns nothing, so row-level security applies to it. The image's
-- POSTGRES_USER (caseapp) owns the schema and runs the migrations; what it creates later is
-- granted to caseapp_app by the default privileges below.
CREATE ROLE caseapp_app LOGIN PASSWORD 'caseapp_app' NOSUPERUSER NOBYPASSRLS;
GRANT CONNECT, TEMPORARY ON DATABASE caseapp TO caseapp_app;
GRANT USAGE ON SCHEMA public TO caseapp_app;
ALTER DEFAULT PRIVILEGES FOR ROLE caseapp IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO caseapp_app;
ALTER DEFAULT PRIVILEGES FOR ROLE caseapp IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO caseapp_app;
