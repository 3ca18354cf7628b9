// What `supabase gen types typescript` gives this app for its own schema (export-ops' tables are not in it).
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[];

export type Database = {
  public: {
    Tables: {
      profiles: {
        Row: { id: string; display_name: string; is_admin: boolean };
        Insert: { id: string; display_name: string; is_admin?: boolean };
        Update: { id?: string; display_name?: string; is_admin?: boolean };
        Relationships: [];
      };
    };
    Views: { [_ in never]: never };
    Functions: { [_ in never]: never };
    Enums: { [_ in never]: never };
    CompositeTypes: { [_ in never]: never };
  };
};
