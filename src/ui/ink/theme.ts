// Colour is a courtesy: with NO_COLOR (or no colour support) every pane still says everything in
// plain text; selection is shown by inverse video and markers, which NO_COLOR allows.
import { createContext, useContext } from 'react';

export interface Theme {
  color: boolean;
}

export const ThemeContext = createContext<Theme>({ color: true });

export function useTheme(): Theme {
  return useContext(ThemeContext);
}

/** The colour when colour is on, otherwise nothing (Ink then prints the terminal's default). */
export function tint(theme: Theme, color: string): string | undefined {
  return theme.color ? color : undefined;
}
