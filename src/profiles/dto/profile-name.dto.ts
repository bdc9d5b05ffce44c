import { Matches } from 'class-validator';

export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class ProfileNameParamDto {
  /** Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 64 characters. @example "default" */
  @Matches(PROFILE_NAME, { message: 'name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' })
  name!: string;
}
