/**
 * 0004 — `gantry_assert`, which lets a single statement fail with a message (the job writer
 * checks in-statement that every step it updates belongs to its job).
 */
import { Migration } from '@mikro-orm/migrations';

export const SQL = /* sql */ `
CREATE FUNCTION gantry_assert(ok boolean, message text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION '%', message USING ERRCODE = 'data_exception';
  END IF;
  RETURN true;
END
$$;
`;

export class Migration0004Assert extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
